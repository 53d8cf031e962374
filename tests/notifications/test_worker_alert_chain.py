"""Twilio's outage ends while retries wait, on real worker processes (only Twilio's HTTP API is fake): alerts about
resolved tasks and SLA warnings past their breach are given up, never sent, and an alert that reached the nurse by
email meanwhile is not sent again by SMS.

The session's workers are stopped for this module: its own stack falls back to the nurse's next channel after 3 s
(NOTIFICATION_FALLBACK_AFTER_SECONDS), so the email goes out within the test."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from notifications.models import NotificationLog
from tasks_app.models import EscalationTask
from tasks_app.services.tasks import task_resolve
from tests.tasks_app.factories import EscalationTaskFactory, NurseShiftFactory
from tests.worker import CeleryStack, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FALLBACK_AFTER = 3


@pytest.fixture(scope="module")
def stack(celery_stack):
    celery_stack.stop_workers()  # the `worker` fixture starts them again for the tests after
    own = CeleryStack(overrides={"NOTIFICATION_FALLBACK_AFTER_SECONDS": str(FALLBACK_AFTER)})
    own.start_workers(count=1)
    yield own
    own.stop()


@pytest.fixture
def twilio(stack, settings):
    from config.settings.product import NOTIFICATION_BACKEND_ALIASES

    settings.NOTIFICATION_BACKENDS = {**settings.NOTIFICATION_BACKENDS, "SMS": NOTIFICATION_BACKEND_ALIASES["twilio"]}
    settings.NOTIFICATION_FALLBACK_AFTER_SECONDS = FALLBACK_AFTER
    for name, value in stack.twilio.settings_overrides().items():
        setattr(settings, name, float(value) if name == "TWILIO_TIMEOUT_SECONDS" else value)
    stack.twilio.reset()
    yield stack.twilio
    stack.twilio.reset()


def assigned(task: EscalationTask) -> EscalationTask:
    return wait_until(
        lambda: EscalationTask.objects.filter(pk=task.pk, status="ASSIGNED").first(), what="the task assigned"
    )


def tried(**filters) -> NotificationLog:
    return wait_until(
        lambda: NotificationLog.objects.filter(attempts__gte=1, **filters).first(), timeout=30, what=f"a try {filters}"
    )


def settled(tasks: list[EscalationTask]) -> bool:
    return not NotificationLog.objects.filter(task__in=tasks, status="PENDING").exists()


def sent_after(moment: dt.datetime, **filters) -> int:
    return NotificationLog.objects.filter(sent_at__gt=moment, **filters).count()


def test_alerts_about_resolved_tasks_and_warnings_past_their_breach_are_not_sent_after_recovery(twilio):
    NurseShiftFactory(nurse__preferred_channel="SMS", nurse__fallback_channels=["VOICE"], nurse__max_open_tasks=20)
    twilio.fail_always(500, code=20500)
    resolved = [assigned(EscalationTaskFactory(severity="HIGH")) for _ in range(3)]
    now = timezone.now()
    watched = assigned(
        EscalationTaskFactory(
            severity="LOW", sla_warning_at=now + dt.timedelta(seconds=3), sla_breach_at=now + dt.timedelta(seconds=9)
        )
    )
    for task in resolved:
        tried(task=task, type="TASK_ASSIGNED")
        task_resolve(task=task, resolution="Called the patient")
    warning = tried(task=watched, type="SLA_WARNING")
    wait_until(lambda: timezone.now() > watched.sla_breach_at, timeout=20, what="the breach time")
    tried(task=watched, type="SLA_BREACH")

    twilio.fail_always(None)
    recovered = timezone.now()
    wait_until(lambda: settled([*resolved, watched]), timeout=120, what="every alert sent or given up")

    about_resolved = sent_after(recovered, task__in=resolved)
    warnings_late = sent_after(watched.sla_breach_at, pk=warning.pk)
    print(f"\nsends after recovery: about resolved tasks {about_resolved}, warnings past their breach {warnings_late}")
    assert (about_resolved, warnings_late) == (0, 0)
    assert set(NotificationLog.objects.filter(task__in=resolved).values_list("status", "error_code")) == {
        ("CANCELLED", "task_closed")
    }
    warning.refresh_from_db()
    assert (warning.status, warning.error_code) == ("CANCELLED", "breach_due")
    # The open task's breach alert still went out once Twilio answered, by whichever channel of its chain
    # got there first (the other copies are given up as delivered_elsewhere).
    assert NotificationLog.objects.filter(
        task=watched, type="SLA_BREACH", status__in=["SENT", "DELIVERED", "READ"]
    ).exists()


def test_an_alert_delivered_by_email_during_an_sms_outage_is_not_sent_by_sms_after_it(twilio):
    NurseShiftFactory(nurse__preferred_channel="SMS", nurse__fallback_channels=["EMAIL"])
    twilio.fail_always(500, code=20500)
    task = assigned(EscalationTaskFactory(severity="HIGH"))
    email = wait_until(
        lambda: NotificationLog.objects.filter(task=task, channel="EMAIL", status="DELIVERED").first(),
        timeout=60,
        what="the email fallback delivered",
    )
    twilio.fail_always(None)
    recovered = timezone.now()
    sms = NotificationLog.objects.get(task=task, channel="SMS")
    wait_until(lambda: settled([task]), timeout=60, what="the SMS sent or given up")
    time.sleep(3)  # a duplicate's every chance to appear

    sms.refresh_from_db()
    repeats = sent_after(recovered, task=task, channel="SMS")
    print(f"\nsends after recovery: SMS repeats of an alert delivered by email {repeats}")
    assert repeats == 0
    assert (sms.status, sms.error_code, sms.alert_id, email.alert_id) == (
        "CANCELLED",
        "delivered_elsewhere",
        sms.pk,
        sms.pk,
    )
    assert not [r for r in twilio.requests if r.sid]  # Twilio never took a message for it
