import pytest

from tests.care_events.platform.webhooks.fake_agent import FakeAgent


@pytest.fixture
def agent_endpoint():
    endpoint = FakeAgent().start()
    yield endpoint
    endpoint.stop()
