"""Per-client rate limits, counted in the shared Redis cache: a burst over the rate is 429 with Retry-After."""

import pytest
from django.core.cache import cache

from tests.api.conftest import client_for
from tests.care_events.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_a_burst_over_the_rate_is_429_with_retry_after(agent, agent_client, settings):
    settings.API_RATE_LIMIT = "5/minute"
    url = f"/api/v1/patients/{PatientFactory().pk}/"

    responses = [agent_client.get(url) for _ in range(6)]

    assert [r.status_code for r in responses] == [200] * 5 + [429]
    assert 1 <= int(responses[-1].headers["Retry-After"]) <= 60
    assert responses[-1].json()["error"]["code"] == "throttled"
    # The counts are in Redis, where every web process shares them.
    assert len(cache.get(f"throttle_user_{agent.pk}")) == 5


def test_the_rate_is_per_client(agent_client, another_agent_client, settings):
    settings.API_RATE_LIMIT = "2/minute"
    url = f"/api/v1/patients/{PatientFactory().pk}/"
    for _ in range(2):
        agent_client.get(url)

    assert agent_client.get(url).status_code == 429
    assert another_agent_client.get(url).status_code == 200


def test_posts_count_too(agent_client, settings):
    settings.API_RATE_LIMIT = "1/minute"
    agent_client.post("/api/v1/events/", {}, format="json")

    response = agent_client.post("/api/v1/events/", {}, format="json")

    assert response.status_code == 429


def test_anonymous_callers_are_limited_per_address(settings):
    settings.API_ANON_RATE_LIMIT = "3/minute"
    client = client_for(None)

    statuses = [client.get("/api/schema/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_when_the_cache_is_down_the_api_still_answers(agent_client, settings, caplog):
    settings.API_RATE_LIMIT = "1/minute"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    url = f"/api/v1/patients/{PatientFactory().pk}/"

    statuses = [agent_client.get(url).status_code for _ in range(2)]

    assert statuses == [200, 200]
    assert "rate limit not applied" in caplog.text


def test_a_forged_forwarded_for_header_does_not_dodge_the_anonymous_limit(settings):
    settings.API_ANON_RATE_LIMIT = "2/minute"
    client = client_for(None)

    statuses = [client.get("/api/schema/", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(3)]

    assert statuses == [200, 200, 429]


def test_anonymous_api_requests_are_throttled_per_address_before_their_401(settings):
    """DRF checks permissions before throttles: without the check in the permission class every anonymous request to
    /api/v1/ was a 401, never throttled."""
    settings.API_ANON_RATE_LIMIT = "5/minute"
    url = f"/api/v1/patients/{PatientFactory().pk}/"

    statuses = [client_for(None).get(url, REMOTE_ADDR="203.0.113.5").status_code for _ in range(8)]
    other = client_for(None).get(url, REMOTE_ADDR="198.51.100.9")

    assert statuses == [401] * 5 + [429] * 3
    assert other.status_code == 401
    refused = client_for(None).get(url, REMOTE_ADDR="203.0.113.5")
    assert int(refused.headers["Retry-After"]) > 0
