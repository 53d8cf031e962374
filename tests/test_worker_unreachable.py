"""A nurse reachable only through Twilio, during a Twilio outage, against real workers, Beat, PostgreSQL and Redis
(docs/notifications.md#unreachable-someone-else-is-told): her urgent alert falls back to her next channel at its
configured time, and when no channel has delivered it within its bound the charge nurse is alerted on her own chain
and the task handed to the next nurse on shift, exactly once."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from care_events.platform.bus.models import Event
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask
from tasks_app.services.tasks import task_resolve
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory, NurseShiftFactory
from tests.worker import CeleryStack, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FALLBACK_SECONDS = 3
UNREACHABLE_SECONDS = 12  # HIGH=0.2 minutes
TIMINGS = {
    "NOTIFICATION_FALLBACK_AFTER_SECONDS": str(FALLBACK_SECONDS),
    "ALERT_UNREACHABLE_AFTER_MINUTES": "HIGH=0.2,CRITICAL=0.2",
}


@pytest.fixture
def outage(celery_stack, settings):
    """The session's workers stopped (its Beat keeps sending the sweeps), and workers of our own whose voice calls
    also go to the fake Twilio, which answers every request 500 (an outage); this process with the same settings."""
    from config.settings.product import NOTIFICATION_BACKEND_ALIASES

    celery_stack.stop_workers()  # the `worker` fixture starts them again for the tests after
    stack = CeleryStack(overrides={**TIMINGS, "NOTIFICATION_VOICE_BACKEND": "twilio-voice"})
    stack.twilio.fail_always(500, code=20500)
    for name, value in stack.twilio.settings_overrides().items():
        setattr(settings, name, float(value) if name == "TWILIO_TIMEOUT_SECONDS" else value)
    settings.NOTIFICATION_BACKENDS = {
        **settings.NOTIFICATION_BACKENDS,
        "SMS": NOTIFICATION_BACKEND_ALIASES["twilio"],
        "VOICE": NOTIFICATION_BACKEND_ALIASES["twilio-voice"],
    }
    settings.NOTIFICATION_FALLBACK_AFTER_SECONDS = FALLBACK_SECONDS
    settings.ALERT_UNREACHABLE_AFTER_MINUTES = {"HIGH": 0.2, "CRITICAL": 0.2}
    stack.start_workers(count=1)
    yield stack
    stack.stop()


def test_a_nurse_reachable_only_through_twilio_is_handed_over_and_the_charge_nurse_alerted_once(outage):
    now = timezone.now()
    shift = {"starts_at": now - dt.timedelta(hours=1), "ends_at": now + dt.timedelta(hours=8)}
    nurse = NurseShiftFactory(nurse__preferred_channel="SMS", nurse__fallback_channels=["VOICE"], **shift).nurse
    task = EscalationTaskFactory(severity="HIGH")
    wait_until(lambda: EscalationTask.objects.filter(pk=task.pk, assigned_to=nurse).exists(), what="the assignment")
    # The charge nurse (email, not on shift) and a colleague on shift who can take the task, once it is the nurse's.
    chief = NurseFactory(is_supervisor=True, preferred_channel="EMAIL")
    colleague = NurseShiftFactory(nurse__preferred_channel="EMAIL", nurse__max_open_tasks=50, **shift).nurse

    told = NotificationLog.objects.filter(type="NURSE_UNREACHABLE")
    wait_until(lambda: told.filter(status__in=["SENT", "DELIVERED"]).exists(), timeout=60, what="the charge nurse")
    wait_until(lambda: EscalationTask.objects.filter(pk=task.pk, assigned_to=colleague).exists(), what="hand-over")
    time.sleep(UNREACHABLE_SECONDS)  # nothing more comes of it: no second alert, no second move

    sms = NotificationLog.objects.get(task=task, recipient_nurse=nurse, replaces=None)
    voice = NotificationLog.objects.get(replaces=sms)
    alert = told.get()
    fallback_after = (voice.created_at - sms.created_at).total_seconds()
    told_after = (alert.created_at - sms.created_at).total_seconds()
    print(f"\nfallback copy after {fallback_after:.1f} s, charge nurse alerted after {told_after:.1f} s")
    assert (sms.channel, voice.channel) == ("SMS", "VOICE")
    # Still retrying, or given up at a try after the task went to the colleague: never sent to her.
    for row in (sms, voice):
        assert (row.status, row.error_code) in {("PENDING", "twilio:20500"), ("CANCELLED", "reassigned")}
    assert FALLBACK_SECONDS <= fallback_after < FALLBACK_SECONDS + 3
    assert UNREACHABLE_SECONDS <= told_after < UNREACHABLE_SECONDS + 5
    assert (alert.recipient_nurse_id, alert.channel, alert.task_id) == (chief.pk, "EMAIL", task.pk)
    moves = Event.objects.filter(name="task/reassigned", data__task_id=str(task.pk))
    assert list(moves.values_list("data__from_nurse_id", "data__to_nurse_id", "data__reason")) == [
        (nurse.pk, colleague.pk, "UNREACHABLE")
    ]
    assert NotificationLog.objects.filter(type="TASK_REASSIGNED", recipient_nurse=colleague).count() == 1
    assert outage.logs().count("every channel of the nurse's chain failed") <= 1

    outage.twilio.fail_always(None)
    task_resolve(task=EscalationTask.objects.get(pk=task.pk), resolution="Called")
