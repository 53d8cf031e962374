import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.api.factories import AgentUserFactory, StaffUserFactory
from tests.tasks_app.factories import NurseShiftFactory


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # Rate-limit counters live in Redis (the test settings' own database): each test starts from zero.
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
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
