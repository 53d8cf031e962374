"""Every try asks first (each give-up reason, in the claim and in the in-process path), one alert one delivery (the
chain, given up once a row reaches the nurse), late sends that say so, urgent at creation, and the chain in the API."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from care_events.choices import NotificationType
from care_events.notify import notification_request
from notifications.backends import local
from notifications.models import NotificationLog
from notifications.services.delivery import notification_deliver
from notifications.services.status import notification_provider_report
from tasks_app.models import EscalationTask
from tasks_app.services.tasks import task_acknowledge, task_resolve
from tests.api.conftest import client_for
from tests.care_events.factories import EpisodeFactory
from tests.helpers import drain
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory, NurseShiftFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def twilio(settings, fake_twilio):
    """SMS and voice through Twilio (the fake); email and push stay local."""
    settings.NOTIFICATION_BACKENDS = {
        **settings.NOTIFICATION_BACKENDS,
        "SMS": "notifications.backends.twilio.TwilioSmsBackend",
        "VOICE": "notifications.backends.twilio.TwilioVoiceBackend",
    }
    local.clear_outbox()
    return fake_twilio


def held_by(nurse, **fields) -> EscalationTask:
    return EscalationTaskFactory(status="ASSIGNED", assigned_to=nurse, assigned_at=timezone.now(), **fields)


def ask(nurse, task, notification_type=NotificationType.TASK_ASSIGNED, key="k") -> NotificationLog:
    notification_request(
        notification_type=notification_type, recipient_nurse_id=nurse.pk, task_id=task.pk, dedupe_key=key
    )
    drain()
    return NotificationLog.objects.get(dedupe_key=key)


def retry_now(log: NotificationLog) -> None:
    NotificationLog.objects.filter(pk=log.pk).update(next_attempt_at=timezone.now())
    notification_deliver(notification_id=log.pk)
    log.refresh_from_db()


def waiting_sms(twilio, nurse, task, notification_type=NotificationType.TASK_ASSIGNED) -> NotificationLog:
    """An alert whose first try met an outage: PENDING, waiting for its retry."""
    twilio.fail_next(1, status=500, code=20500)
    log = ask(nurse, task, notification_type)
    assert (log.status, log.attempts, len(twilio.requests)) == ("PENDING", 1, 1)
    return log


# --- every try asks first --------------------------------------------------------------------------------------


def test_a_retry_about_a_resolved_task_is_given_up_not_sent(twilio):
    nurse = NurseFactory(preferred_channel="SMS")
    task = held_by(nurse, severity="HIGH")
    log = waiting_sms(twilio, nurse, task)
    task_resolve(task=task, resolution="Called")
    retry_now(log)
    assert (log.status, log.error_code, log.attempts) == ("CANCELLED", "task_closed", 1)
    assert len(twilio.requests) == 1
    assert not NotificationLog.objects.exclude(pk=log.pk).exists()  # CANCELLED: no fallback


def test_a_retry_after_the_task_went_to_another_nurse_is_given_up(twilio):
    nurse = NurseFactory(preferred_channel="SMS")
    task = held_by(nurse, severity="LOW")
    log = waiting_sms(twilio, nurse, task)
    EscalationTask.objects.filter(pk=task.pk).update(assigned_to=NurseFactory())
    retry_now(log)
    assert (log.status, log.error_code, len(twilio.requests)) == ("CANCELLED", "reassigned", 1)


def test_a_retry_after_the_nurse_acknowledged_is_given_up(twilio):
    nurse = NurseFactory(preferred_channel="SMS")
    task = held_by(nurse, severity="LOW")
    log = waiting_sms(twilio, nurse, task)
    task_acknowledge(task=task, nurse=nurse)
    retry_now(log)
    assert (log.status, log.error_code, len(twilio.requests)) == ("CANCELLED", "acknowledged", 1)


def test_an_sla_warning_retried_after_its_breach_is_given_up(twilio):
    nurse = NurseFactory(preferred_channel="SMS")
    task = held_by(nurse, severity="LOW", sla_minutes=60)
    log = waiting_sms(twilio, nurse, task, NotificationType.SLA_WARNING)
    with time_machine.travel(task.sla_breach_at + dt.timedelta(seconds=1)):
        retry_now(log)
    assert (log.status, log.error_code, len(twilio.requests)) == ("CANCELLED", "breach_due", 1)


def test_a_checkin_retried_after_its_window_is_given_up(twilio, settings):
    episode = EpisodeFactory()
    twilio.fail_next(1, status=500, code=20500)
    notification_request(
        notification_type=NotificationType.CHECKIN,
        recipient_patient_id=episode.patient_id,
        episode_id=episode.pk,
        dedupe_key="checkin",
    )
    drain()
    log = NotificationLog.objects.get()
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=settings.CHECKIN_RESPONSE_WINDOW + 1)):
        retry_now(log)
    assert (log.status, log.error_code, len(twilio.requests)) == ("CANCELLED", "window_closed", 1)


def test_a_message_about_a_closed_task_is_given_up_on_the_in_process_path(settings):
    """The local backend sends in the asking transaction (`_deliver_new`): it asks first too."""
    nurse = NurseFactory(preferred_channel="EMAIL")
    task = held_by(nurse, severity="LOW")
    task_resolve(task=task, resolution="Called")
    local.clear_outbox()
    log = ask(nurse, task, NotificationType.SLA_BREACH)
    assert (log.status, log.error_code) == ("CANCELLED", "task_closed")
    assert local.outbox == []


# --- one alert, one delivery ---------------------------------------------------------------------------------


def test_an_alert_delivered_by_email_is_not_sent_again_by_sms(twilio, settings):
    settings.NOTIFICATION_FALLBACK_AFTER_SECONDS = 60
    nurse = NurseFactory(preferred_channel="SMS", fallback_channels=["EMAIL"])
    task = held_by(nurse, severity="CRITICAL")
    twilio.fail_always(500, code=20500)
    sms = ask(nurse, task)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
        retry_now(sms)  # past the fallback's time: the email goes out meanwhile
        drain()
    email = NotificationLog.objects.get(channel="EMAIL")
    sms.refresh_from_db()
    assert (email.status, email.alert_id, sms.alert_id) == ("DELIVERED", sms.pk, sms.pk)
    assert (sms.status, sms.error_code) == ("CANCELLED", "delivered_elsewhere")
    assert sms.error_message.startswith("delivered by EMAIL at ") and sms.error_message.endswith(" UTC")

    twilio.fail_always(None)  # recovered: the SMS is not sent
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        drain()
    assert [r.response_status for r in twilio.requests] == [500, 500]


def test_a_waiting_row_in_doubt_whose_alert_was_delivered_meanwhile_is_given_up_after_asking(twilio):
    """A row in doubt is left alone by the status path; its next try asks Twilio (which has nothing of it: the
    attempt was answered with a 500) and gives it up."""
    nurse = NurseFactory(preferred_channel="SMS")
    task = held_by(nurse, severity="HIGH")
    sms = waiting_sms(twilio, nurse, task)
    NotificationLog.objects.filter(pk=sms.pk).update(in_doubt_since=timezone.now())
    push = NotificationLog.objects.create(
        type=sms.type, channel="PUSH", recipient_nurse=nurse, task=task, body="x", dedupe_key="push", alert=sms
    )
    notification_provider_report(notification_id=push.pk, provider_status="delivered")
    sms.refresh_from_db()
    assert sms.status == "PENDING"
    retry_now(sms)
    assert (sms.status, sms.error_code) == ("CANCELLED", "delivered_elsewhere")
    assert (len(twilio.requests), twilio.lookups) == (1, 1)
    assert sms.error_message.startswith("delivered by PUSH at ")


def test_a_send_that_is_late_says_so(twilio, settings):
    settings.NOTIFICATION_FALLBACK_AFTER_SECONDS = 60
    nurse = NurseFactory(preferred_channel="SMS", timezone="UTC")
    task = held_by(nurse, severity="LOW")
    log = waiting_sms(twilio, nurse, task)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        retry_now(log)
    assert (log.status, log.sent_late) == ("SENT", True)
    assert f"(sent late: first tried {log.created_at:%H:%M} UTC)" in twilio.requests[-1].form["Body"]


def test_a_send_on_time_is_not_marked_late(twilio):
    nurse = NurseFactory(preferred_channel="SMS")
    log = ask(nurse, held_by(nurse, severity="LOW"))
    assert (log.status, log.sent_late) == ("SENT", False)
    assert "sent late" not in twilio.requests[-1].form["Body"]


# --- urgent at creation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notification_type", "severity", "urgent"),
    [
        (NotificationType.TASK_ASSIGNED, "HIGH", True),
        (NotificationType.TASK_REASSIGNED, "CRITICAL", True),
        (NotificationType.TASK_ASSIGNED, "MODERATE", False),
        (NotificationType.SLA_WARNING, "CRITICAL", False),
        (NotificationType.SLA_BREACH, "LOW", True),
    ],
)
def test_high_and_critical_assignments_are_urgent_from_their_creation(notification_type, severity, urgent):
    nurse = NurseFactory()
    log = ask(nurse, held_by(nurse, severity=severity), notification_type)
    assert log.urgent is urgent


# --- the chain in the nurse's API ----------------------------------------------------------------------------


def test_the_nurse_sees_one_alert_with_its_attempts_and_reads_it_by_any_of_them(twilio):
    nurse = NurseShiftFactory(nurse__preferred_channel="SMS", nurse__fallback_channels=["EMAIL"]).nurse
    task = held_by(nurse, severity="HIGH")
    twilio.fail_next(1, status=400, code=30006)  # the SMS fails for good: the email is its fallback
    sms = ask(nurse, task)
    email = NotificationLog.objects.get(channel="EMAIL")
    client = client_for(nurse.user)

    [alert] = client.get("/api/v1/notifications/").json()["results"]

    assert (alert["id"], alert["alert_id"], alert["channel"], alert["status"]) == (
        str(sms.pk),
        str(sms.pk),
        "SMS",
        "FAILED",
    )
    assert alert["alert_status"] == "DELIVERED"
    assert [(a["id"], a["channel"], a["status"], a["reason"]) for a in alert["chain"]] == [
        (str(sms.pk), "SMS", "FAILED", "twilio:30006"),
        (str(email.pk), "EMAIL", "DELIVERED", ""),
    ]
    read = client.post(f"/api/v1/notifications/{sms.pk}/read/").json()
    email.refresh_from_db()
    assert (email.status, read["alert_status"], read["chain"][1]["status"]) == ("READ", "READ", "READ")
