import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from care_events.platform.api_clients.models import TokenScope
from care_events.platform.api_clients.tokens import api_token_create
from care_events.platform.roles import AGENT, HOSPITAL_FEED
from tests.api.factories import AdministratorFactory, AgentUserFactory, ChargeNurseFactory
from tests.tasks_app.factories import NurseShiftFactory

# The key of each user's token in this test: only its digest is stored, so a second client for the same user
# must reuse the key rather than make another (which would revoke the first).
_keys: dict[int, str] = {}


@pytest.fixture(autouse=True)
def _fresh_rate_limits_and_keys():
    # Rate-limit counters live in Redis (the test settings' own database): each test starts from zero.
    cache.clear()
    _keys.clear()
    yield
    cache.clear()


def key_for(user) -> str:
    """A key of scope agent for the agent, feed for the hospital feed, nurse for anyone else."""
    if user.pk not in _keys:
        scopes = {AGENT: TokenScope.AGENT, HOSPITAL_FEED: TokenScope.FEED}
        group = user.groups.filter(name__in=scopes).values_list("name", flat=True).first()
        scope = scopes.get(group, TokenScope.NURSE)
        _keys[user.pk] = api_token_create(user=user, scope=scope)
    return _keys[user.pk]


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key_for(user)}")
    return client


@pytest.fixture
def agent():
    return AgentUserFactory()


@pytest.fixture
def charge_nurse():
    """A supervisor, not on shift (round-robin never picks her)."""
    return ChargeNurseFactory()


@pytest.fixture
def administrator():
    return AdministratorFactory()


@pytest.fixture
def nurse_a():
    """A nurse on shift now (round-robin can assign her)."""
    return NurseShiftFactory().nurse


@pytest.fixture
def nurse_b():
    return NurseShiftFactory().nurse


@pytest.fixture
def agent_client(agent) -> APIClient:
    return client_for(agent)


@pytest.fixture
def another_agent_client() -> APIClient:
    """A second service account of the agent's role (a second caller of the agent's endpoints)."""
    return client_for(AgentUserFactory())


@pytest.fixture
def charge_nurse_client(charge_nurse) -> APIClient:
    return client_for(charge_nurse.user)
