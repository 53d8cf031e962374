import pytest
from rest_framework.test import APIClient

from tests.notifications.fake_twilio import fake_twilio_fixture  # noqa: F401 - the `fake_twilio` fixture


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
