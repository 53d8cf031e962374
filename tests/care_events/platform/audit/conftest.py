import pytest
from django.core.cache import cache

from tests.api.factories import AdministratorFactory, AgentUserFactory


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # the API's rate-limit counters (the test settings' own Redis database)
    yield
    cache.clear()


@pytest.fixture
def agent():
    return AgentUserFactory()


@pytest.fixture
def staff():
    """A person who reads every patient's records (the Administrator role) and opens admin."""
    return AdministratorFactory()
