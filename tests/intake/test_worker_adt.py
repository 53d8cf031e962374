"""The feed's discharge and its cancellation on a real Celery worker, Beat, PostgreSQL and Redis (check-in 3 s after
the discharge, tests/worker.py): A03's check-in SMS goes out exactly as the API's does, and A13 stops it."""

import time

import pytest
from django.utils import timezone

from care_events.models import Episode, OutreachAttempt
from care_events.platform.bus.models import Timer, TimerKind
from intake.services import hl7_receive
from notifications.models import NotificationLog
from tests.intake.messages import ack_fields, adt
from tests.worker import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def now_ts() -> str:
    return timezone.now().strftime("%Y%m%d%H%M%S+0000")


def test_a_cancelled_discharge_sends_no_checkin_and_a_discharge_sends_one(worker):
    admitted = (timezone.now() - timezone.timedelta(days=3)).strftime("%Y%m%d%H%M%S+0000")
    for mrn, visit, phone in (("KEEP", "V-keep", "(202) 555-0143"), ("STOP", "V-stop", "(202) 555-0188")):
        assert ack_fields(hl7_receive(adt("A01", mrn=mrn, visit=visit, admitted=admitted, phone=phone)))["code"] == "AA"
        hl7_receive(adt("A03", mrn=mrn, visit=visit, admitted=admitted, discharged=now_ts(), phone=phone))
    stopped = Episode.objects.get(visit_number="V-stop")

    # The worker ran the discharge's handler: the check-in timer is waiting (3 s). Then the hospital cancels it.
    wait_until(
        lambda: Timer.objects.pending().filter(kind=TimerKind.CHECKIN_DUE, subject_id=stopped.pk).exists(),
        what="the check-in timer",
    )
    assert ack_fields(hl7_receive(adt("A13", mrn="STOP", visit="V-stop", admitted=admitted)))["code"] == "AA"

    kept = wait_until(
        lambda: NotificationLog.objects.filter(
            type="CHECKIN", status="SENT", recipient_patient__phone="+12025550143"
        ).first(),
        what="the kept discharge's check-in SMS",
    )
    assert kept is not None
    time.sleep(4)  # past the cancelled check-in's due time, with the sweep running every second
    assert not NotificationLog.objects.filter(recipient_patient=stopped.patient).exists()
    assert not OutreachAttempt.objects.filter(plan__episode=stopped).exists()
    assert "+12025550188" not in {r.form["To"] for r in worker.twilio.requests}
    assert Timer.objects.get(kind=TimerKind.CHECKIN_DUE, subject_id=stopped.pk).cancelled_at is not None
