"""Anonymous API requests are counted per address and minute, not written to the trail one by one
(care_events/platform/audit/anonymous.py)."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from care_events.platform.audit.anonymous import AnonymousApiTraffic
from care_events.platform.audit.models import AuditEntry
from tests.api.conftest import client_for
from tests.care_events.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def test_a_flood_of_anonymous_requests_is_one_counted_row_per_address_and_minute(settings):
    settings.API_ANON_RATE_LIMIT = "60/minute"
    url = f"/api/v1/patients/{PatientFactory().pk}/"
    start = timezone.now().replace(second=5, microsecond=0)

    with time_machine.travel(start, tick=False) as clock:
        statuses = [client_for(None).get(url, REMOTE_ADDR="203.0.113.5").status_code for _ in range(100)]
        client_for(None).get(url, REMOTE_ADDR="198.51.100.9")
        clock.shift(dt.timedelta(minutes=1))
        client_for(None).get(url, REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Token not-a-key-of-ours")

    assert statuses.count(401) == 60 and statuses.count(429) == 40
    assert not AuditEntry.objects.exists()  # no row of their own
    rows = {
        (row.client_address, row.minute): (row.requests, row.throttled) for row in AnonymousApiTraffic.objects.all()
    }
    minute = start.replace(second=0)
    assert rows == {
        ("203.0.113.5", minute): (100, 40),
        ("198.51.100.9", minute): (1, 0),
        ("203.0.113.5", minute + dt.timedelta(minutes=1)): (1, 0),  # a refused key is anonymous too
    }


def test_an_authenticated_request_still_has_its_own_row(agent):
    patient = PatientFactory()

    client_for(agent).get(f"/api/v1/patients/{patient.pk}/")

    assert AuditEntry.objects.get(action="api.read").user_id == agent.pk
    assert not AnonymousApiTraffic.objects.exists()
