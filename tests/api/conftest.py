import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from care_events.api_clients.tokens import api_token_rotate
from tests.api.factories import AgentUserFactory, StaffUserFactory
from tests.tasks_app.factories import NurseShiftFactory

# The key of each user's token in this test: only its digest is stored, so a second client for the same user
# must reuse the key rather than rotate it (which would log the first client out).
_keys: dict[int, str] = {}


@pytest.fixture(autouse=True)
def _fresh_rate_limits_and_keys():
    # Rate-limit counters live in Redis (the test settings' own database): each test starts from zero.
    cache.clear()
    _keys.clear()
    yield
    cache.clear()


def key_for(user) -> str:
    if user.pk not in _keys:
        _keys[user.pk] = api_token_rotate(user=user)
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
def staff():
    return StaffUserFactory()


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
def staff_client(staff) -> APIClient:
    return client_for(staff)
