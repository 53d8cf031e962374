"""Delivery through the real Twilio SDK to the local fake of Twilio's API: the error taxonomy, retries until the
message's own deadline (Retry-After honoured), the fallback of urgent alerts, reconciliation, WhatsApp."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from care_events.choices import NotificationType
from care_events.notify import notification_request
from care_events.platform.bus.models import Event
from notifications.backends import local
from notifications.backends.base import PermanentSendError, TransientSendError
from notifications.backends.errors import twilio_error
from notifications.models import NotificationLog
from notifications.services.delivery import notification_deliver
from notifications.services.reconcile import notifications_reconcile
from notifications.services.status import notification_provider_report
from tasks_app.services.tasks import task_resolve
from tests.care_events.factories import EpisodeFactory
from tests.helpers import drain
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory

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


# --- the taxonomy -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [21211, 21614, 30005, 30006, 30007])
def test_a_permanent_twilio_error_fails_at_once_without_retry(twilio, code):
    twilio.fail_next(1, status=400, code=code)
    log = ask(NurseFactory(), EscalationTaskFactory(severity="LOW"))
    assert (log.status, log.error_code, log.attempts) == ("FAILED", f"twilio:{code}", 1)
    assert len(twilio.requests) == 1
    assert Event.objects.filter(name="notification/failed").count() == 1


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (500, 20500), (503, None), (400, 30003)])
def test_a_transient_twilio_error_is_retried(twilio, status, code):
    twilio.fail_next(1, status=status, code=code or 0)
    log = ask(NurseFactory(), EscalationTaskFactory(severity="LOW"))
    assert (log.status, log.attempts) == ("PENDING", 1)
    retry_now(log)
    assert log.status == "SENT"
    assert len(twilio.requests) == 2


def test_unsubscribed_recipient_fails_and_turns_the_patients_consent_off(twilio):
    episode = EpisodeFactory()
    twilio.fail_next(1, status=400, code=21610)
    notification_request(
        notification_type=NotificationType.CHECKIN,
        recipient_patient_id=episode.patient_id,
        episode_id=episode.pk,
        dedupe_key="checkin",
    )
    drain()
    log = NotificationLog.objects.get()
    episode.patient.refresh_from_db()
    assert (log.status, log.error_code) == ("FAILED", "twilio:21610")
    assert (episode.patient.sms_consent, episode.patient.sms_opted_out_at is not None) == (False, True)


def test_twilios_retry_after_is_honoured(twilio):
    twilio.fail_next(1, status=429, code=20429, retry_after=90)
    before = timezone.now()
    log = ask(NurseFactory(), EscalationTaskFactory(severity="LOW"))
    assert log.status == "PENDING"
    assert log.next_attempt_at >= before + dt.timedelta(seconds=90)


def test_the_taxonomy_sorts_errors_without_keeping_their_text():
    from twilio.base.exceptions import TwilioRestException

    permanent = twilio_error(
        TwilioRestException(400, "uri", msg="The 'To' number +15551234567 is not valid", code=21211)
    )
    transient = twilio_error(TwilioRestException(429, "uri", msg="Too many", code=20429), retry_after=12)
    assert isinstance(permanent, PermanentSendError) and "+1555" not in str(permanent)
    assert isinstance(transient, TransientSendError) and transient.retry_after == 12


# --- retried until the message's own deadline, never for a fixed count ----------------------------------------


def test_an_assignment_is_retried_for_as_long_as_its_task_is_open(twilio):
    task = EscalationTaskFactory(severity="LOW")
    twilio.fail_next(30, status=500, code=20500)
    log = ask(NurseFactory(), task)
    for _ in range(20):
        retry_now(log)
    assert (log.status, log.attempts) == ("PENDING", 21)  # far past any fixed count, still trying

    task_resolve(task=task, resolution="Called")
    retry_now(log)
    # Asked before the try: given up, never sent (CANCELLED, so no fallback either).
    assert (log.status, log.error_code, log.attempts) == ("CANCELLED", "task_closed", 21)
    assert len(twilio.requests) == 21


def test_an_sla_warning_is_not_retried_past_its_tasks_breach(twilio):
    task = EscalationTaskFactory(severity="LOW", sla_minutes=60)
    twilio.fail_next(5, status=500, code=20500)
    log = ask(NurseFactory(), task, NotificationType.SLA_WARNING)
    assert (log.status, log.deadline) == ("PENDING", task.sla_breach_at)
    with time_machine.travel(task.sla_breach_at + dt.timedelta(seconds=1)):
        retry_now(log)
    assert (log.status, log.error_code, log.attempts) == ("CANCELLED", "breach_due", 1)
    assert len(twilio.requests) == 1


def test_a_thirty_minute_twilio_outage_loses_no_alert(twilio):
    """Twilio answers 500 for 30 minutes: the alert waits (at most two minutes between tries) and goes out once
    Twilio answers again; it is sent once."""
    task = EscalationTaskFactory(severity="LOW")
    twilio.fail_next(1000, status=500, code=20500)
    log = ask(NurseFactory(), task)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        while timezone.now() < start + dt.timedelta(minutes=30):
            assert 0 < (log.next_attempt_at - timezone.now()).total_seconds() <= 120
            clock.move_to(log.next_attempt_at)
            notification_deliver(notification_id=log.pk)
            log.refresh_from_db()
            assert log.status == "PENDING"
        twilio.reset()
        clock.move_to(log.next_attempt_at)
        notification_deliver(notification_id=log.pk)
    log.refresh_from_db()
    assert log.status == "SENT"
    assert [r.response_status for r in twilio.requests] == [201]  # the one request after the outage: sent once


# --- fallback of urgent alerts -------------------------------------------------------------------------------


def test_a_failed_urgent_alert_goes_out_on_the_next_channel_of_the_nurses_chain(twilio):
    nurse = NurseFactory(preferred_channel="SMS", fallback_channels=["EMAIL", "VOICE"])
    task = EscalationTaskFactory(severity="HIGH")
    twilio.fail_next(1, status=400, code=30006)  # the SMS
    failed = ask(nurse, task)

    chain = list(NotificationLog.objects.order_by("created_at").values_list("channel", "status", "replaces"))
    email = NotificationLog.objects.get(channel="EMAIL")
    assert chain == [("SMS", "FAILED", None), ("EMAIL", "DELIVERED", failed.pk)]
    assert email.body and "http" in email.body and email.subject.startswith("Sequora:")
    assert [m.channel for m in local.outbox] == ["EMAIL"]


def test_a_routine_alert_that_fails_has_no_fallback(twilio):
    twilio.fail_next(1, status=400, code=30006)
    ask(NurseFactory(), EscalationTaskFactory(severity="MODERATE"))
    assert NotificationLog.objects.count() == 1


def test_a_failed_delivery_report_starts_the_fallback(twilio):
    nurse = NurseFactory(preferred_channel="SMS")  # default chain: PUSH, SMS, VOICE
    log = ask(nurse, EscalationTaskFactory(severity="LOW"), NotificationType.SLA_BREACH)
    assert log.status == "SENT"
    notification_provider_report(
        notification_id=log.pk,
        provider_status="undelivered",
        provider_message_id=log.provider_message_id,
        error_code="30003",
    )
    drain()
    log.refresh_from_db()
    push = NotificationLog.objects.get(replaces=log)
    assert (log.status, log.error_code) == ("FAILED", "twilio:30003")
    assert (push.channel, push.status) == ("PUSH", "DELIVERED")


def test_an_urgent_alert_failing_for_long_also_tries_the_next_channel_meanwhile(twilio, settings):
    settings.NOTIFICATION_FALLBACK_AFTER_SECONDS = 60
    twilio.fail_next(10, status=503, code=20503)
    log = ask(NurseFactory(preferred_channel="SMS"), EscalationTaskFactory(severity="CRITICAL"))
    assert not NotificationLog.objects.filter(replaces=log).exists()  # a first failure: not yet
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
        retry_now(log)
        drain()
    log.refresh_from_db()
    push = NotificationLog.objects.get(replaces=log)
    assert (push.channel, push.status, push.alert_id) == ("PUSH", "DELIVERED", log.pk)
    # One alert, one delivery: the push reached her, so the SMS still waiting for its retry is given up.
    assert (log.status, log.error_code) == ("CANCELLED", "delivered_elsewhere")
    assert log.error_message.startswith("delivered by PUSH at ")


# --- reconciliation and WhatsApp -----------------------------------------------------------------------------


def test_reconciliation_asks_twilio_about_messages_left_sent(twilio, settings):
    settings.NOTIFICATION_RECONCILE_AFTER_SECONDS = 600
    log = ask(NurseFactory(), EscalationTaskFactory(severity="LOW"))
    assert log.status == "SENT"
    assert notifications_reconcile() == 0  # too recent
    twilio.set_status(log.provider_message_id, "delivered")
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        assert notifications_reconcile() == 1
        assert notifications_reconcile() == 0  # not asked again within the period
    log.refresh_from_db()
    assert (log.status, log.provider_status, log.delivered_at is not None) == ("DELIVERED", "delivered", True)


def test_reconciliation_records_a_failure_reported_late(twilio, settings):
    settings.NOTIFICATION_RECONCILE_AFTER_SECONDS = 600
    log = ask(NurseFactory(), EscalationTaskFactory(severity="LOW"))
    twilio.set_status(log.provider_message_id, "undelivered", error_code=30005)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        notifications_reconcile()
    log.refresh_from_db()
    assert (log.status, log.error_code) == ("FAILED", "twilio:30005")


def test_a_patient_who_prefers_whatsapp_is_texted_by_the_whatsapp_route(twilio):
    episode = EpisodeFactory(patient__prefers_whatsapp=True, patient__preferred_language="es")
    notification_request(
        notification_type=NotificationType.CHECKIN,
        recipient_patient_id=episode.patient_id,
        episode_id=episode.pk,
        dedupe_key="checkin",
    )
    drain()
    [request] = twilio.requests
    assert request.form["To"] == f"whatsapp:{episode.patient.phone}"
    assert request.form["From"].startswith("whatsapp:")
    assert request.form["Body"].startswith("Hola")
    assert request.form["StatusCallback"].endswith(f"/webhooks/twilio/status/{NotificationLog.objects.get().pk}/")
