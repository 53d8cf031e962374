"""Delivery through the real Twilio SDK to the local fake of Twilio's API: claims, retries, failures, status."""

import contextlib
import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from care_events.notify import notification_request
from care_events.platform.bus.models import Event
from notifications.backends import OutgoingMessage, local
from notifications.backends.twilio import TwilioSmsBackend
from notifications.models import NotificationLog
from notifications.services.delivery import notification_deliver
from notifications.services.status import notification_mark_read, notification_status_set
from tasks_app.models import EscalationTask
from tests.care_events.factories import EpisodeFactory
from tests.helpers import drain
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def twilio_sms(settings, fake_twilio):
    settings.NOTIFICATION_BACKENDS = {
        **settings.NOTIFICATION_BACKENDS,
        "SMS": "notifications.backends.twilio.TwilioSmsBackend",
    }
    return fake_twilio


def ask(nurse, task, key="k"):
    notification_request(
        notification_type="TASK_ASSIGNED", recipient_nurse_id=nurse.pk, task_id=task.pk, dedupe_key=key
    )
    drain()
    return NotificationLog.objects.get(dedupe_key=key)


def test_asking_twice_writes_one_log_and_sends_one_sms(twilio_sms):
    nurse, task = NurseFactory(), EscalationTaskFactory()
    first = ask(nurse, task)
    again = ask(nurse, task)
    assert first.pk == again.pk
    assert (first.status, first.provider, first.attempts) == ("SENT", "twilio", 1)
    [request] = twilio_sms.requests
    assert (request.form["To"], request.sid) == (nurse.phone, first.provider_message_id)
    assert notification_deliver(notification_id=first.pk) is None  # not pending any more: nothing is sent
    assert len(twilio_sms.requests) == 1


def test_an_in_process_send_inserts_its_row_delivered_and_asking_twice_sends_once():
    local.clear_outbox()
    nurse, task = NurseFactory(), EscalationTaskFactory()
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        first = ask(nurse, task)
    again = ask(nurse, task)
    assert first.pk == again.pk
    assert (first.status, first.provider, first.attempts) == ("DELIVERED", "local", 1)
    assert first.sent_at == first.delivered_at == first.last_attempt_at is not None
    [message] = local.outbox  # the second request met the first row and sent nothing
    assert message.to == nurse.phone
    assert first.provider_message_id.startswith("local-")
    # One write of the row: its insert carries the send's outcome (no UPDATE of the row after it).
    writes = [sql.split()[:3] for sql in statements if sql.startswith(("INSERT", "UPDATE"))]
    log_writes = [words for words in writes if "notifications_notificationlog" in " ".join(words)]
    assert log_writes == [["INSERT", "INTO", '"notifications_notificationlog"']], log_writes
    assert Event.objects.filter(name="notification/delivered").count() == 1


def test_a_transient_failure_is_retried_after_a_backoff_then_sent(twilio_sms):
    nurse, task = NurseFactory(), EscalationTaskFactory()
    twilio_sms.fail_next(1, status=503, code=20503)
    log = ask(nurse, task)
    assert (log.status, log.attempts, log.error_code) == ("PENDING", 1, "twilio:20503")
    assert log.next_attempt_at > timezone.now()
    with time_machine.travel(log.next_attempt_at + dt.timedelta(seconds=1), tick=False):
        drain()
    log.refresh_from_db()
    assert (log.status, log.attempts) == ("SENT", 2)
    assert Event.objects.filter(name="notification/delivered").count() == 1


def test_a_permanent_failure_fails_once_and_emits_notification_failed(twilio_sms):
    nurse, task = NurseFactory(), EscalationTaskFactory()
    twilio_sms.fail_next(1, status=400, code=21211)
    log = ask(nurse, task)
    assert (log.status, log.error_code, log.attempts) == ("FAILED", "twilio:21211", 1)
    assert log.failed_at is not None
    assert nurse.phone not in log.error_message
    event = Event.objects.get(name="notification/failed")
    assert event.data == {"notification_id": str(log.pk), "error_code": "twilio:21211"}


def test_a_message_whose_lease_is_held_is_not_sent_by_a_second_worker(twilio_sms):
    nurse, task = NurseFactory(), EscalationTaskFactory()
    notification_request(
        notification_type="TASK_ASSIGNED", recipient_nurse_id=nurse.pk, task_id=task.pk, dedupe_key="lease"
    )
    log = NotificationLog.objects.get()  # written in the asking transaction (send-notification is inline)
    # Another worker claimed it a moment ago and is calling the provider: its lease is in the future.
    NotificationLog.objects.filter(pk=log.pk).update(next_attempt_at=timezone.now() + dt.timedelta(minutes=5))
    assert notification_deliver(notification_id=log.pk) is None
    assert twilio_sms.requests == []


def test_a_patient_who_opted_out_is_never_texted(twilio_sms):
    episode = EpisodeFactory(patient__sms_consent=False)
    notification_request(
        notification_type="CHECKIN", recipient_patient_id=episode.patient_id, episode_id=episode.pk, dedupe_key="c"
    )
    drain()
    log = NotificationLog.objects.get()
    assert (log.status, log.error_code) == ("CANCELLED", "opted_out")
    assert twilio_sms.requests == []


def test_status_only_moves_forward_and_read_emits_once():
    log = ask(NurseFactory(), EscalationTaskFactory())  # local backend: DELIVERED at once
    assert log.status == "DELIVERED"
    assert notification_status_set(notification_id=log.pk, status="SENT") is False
    log = notification_mark_read(log=log)
    log = notification_mark_read(log=log)
    assert (log.status, log.read_at is not None) == ("READ", True)
    assert Event.objects.filter(name="notification/read").count() == 1


def expire_lease(log: NotificationLog) -> None:
    NotificationLog.objects.filter(pk=log.pk).update(next_attempt_at=timezone.now())


def test_a_send_that_timed_out_after_reaching_twilio_is_found_not_sent_again(twilio_sms, settings):
    settings.TWILIO_TIMEOUT_SECONDS = 0.2
    twilio_sms.response_delay_seconds = 0.5  # Twilio takes the message, but too late for our client
    log = ask(NurseFactory(), EscalationTaskFactory())
    assert (log.status, log.error_code, log.in_doubt_since is not None) == ("PENDING", "network", True)
    [request] = twilio_sms.wait_for_requests(1)

    twilio_sms.response_delay_seconds = 0
    expire_lease(log)
    assert notification_deliver(notification_id=log.pk) is None

    log.refresh_from_db()
    assert (log.status, log.provider_message_id, log.attempts, log.in_doubt_since) == ("SENT", request.sid, 2, None)
    assert (len(twilio_sms.requests), twilio_sms.lookups) == (1, 1)
    assert Event.objects.filter(name="notification/delivered").count() == 1


@contextlib.contextmanager
def twilio_refusing(settings):
    """Twilio's address answers nothing (the discard port refuses the connection): an attempt made meanwhile is
    in doubt for the worker, but nothing reached Twilio."""
    real_url = settings.TWILIO_API_BASE_URL
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    try:
        yield
    finally:
        settings.TWILIO_API_BASE_URL = real_url


def test_a_send_in_doubt_that_never_reached_twilio_is_sent(twilio_sms, settings):
    with twilio_refusing(settings):
        log = ask(NurseFactory(), EscalationTaskFactory())
    assert (log.status, log.in_doubt_since is not None) == ("PENDING", True)

    expire_lease(log)
    notification_deliver(notification_id=log.pk)

    log.refresh_from_db()
    [request] = twilio_sms.requests
    assert (log.status, log.provider_message_id, twilio_sms.lookups) == ("SENT", request.sid, 1)


def test_a_worker_dying_after_twilio_accepted_leaves_the_message_found_by_the_next_attempt(twilio_sms):
    nurse, task = NurseFactory(), EscalationTaskFactory()
    log = ask(nurse, task, key="first")
    # The same text to the same nurse was sent for another notification: it is not this one's.
    twin = NotificationLog.objects.create(
        type=log.type, channel=log.channel, recipient_nurse=nurse, task=task, body=log.body, dedupe_key="twin"
    )
    # A worker claimed the twin and called Twilio (the attempt is in doubt from now on), then died.
    claimed_at = timezone.now()
    NotificationLog.objects.filter(pk=twin.pk).update(attempts=1, in_doubt_since=claimed_at)
    TwilioSmsBackend().send(OutgoingMessage(channel="SMS", to=nurse.phone, body=log.body))

    notification_deliver(notification_id=twin.pk)

    twin.refresh_from_db()
    first_sid, crashed_sid = (r.sid for r in twilio_sms.requests)
    assert (twin.status, twin.provider_message_id, twin.attempts) == ("SENT", crashed_sid, 2)
    assert log.provider_message_id == first_sid
    assert len(twilio_sms.requests) == 2


def test_an_answered_failure_is_not_in_doubt_so_the_retry_sends_without_asking(twilio_sms):
    twilio_sms.fail_next(1, status=503, code=20503)
    log = ask(NurseFactory(), EscalationTaskFactory())
    assert (log.status, log.in_doubt_since) == ("PENDING", None)
    expire_lease(log)
    notification_deliver(notification_id=log.pk)
    log.refresh_from_db()
    assert (log.status, twilio_sms.lookups, len(twilio_sms.requests)) == ("SENT", 0, 2)


def test_a_send_in_doubt_is_not_sent_blind_while_twilio_cannot_be_asked(twilio_sms, settings):
    settings.TWILIO_TIMEOUT_SECONDS = 0.2
    twilio_sms.response_delay_seconds = 0.5
    log = ask(NurseFactory(), EscalationTaskFactory())
    [request] = twilio_sms.wait_for_requests(1)
    twilio_sms.response_delay_seconds = 0

    twilio_sms.fail_next(1, status=503, code=20503)  # the lookup is answered with an outage
    expire_lease(log)
    assert notification_deliver(notification_id=log.pk) is not None  # retried later
    log.refresh_from_db()
    assert (log.status, log.error_code, log.in_doubt_since is not None) == ("PENDING", "twilio:20503", True)
    assert len(twilio_sms.requests) == 1

    expire_lease(log)
    notification_deliver(notification_id=log.pk)
    log.refresh_from_db()
    assert (log.status, log.provider_message_id, len(twilio_sms.requests)) == ("SENT", request.sid, 1)


def in_doubt_at_twilio(twilio_sms, settings, nurse, task, notification_type="TASK_ASSIGNED"):
    """A send that reached Twilio but timed out before its answer (the worker recorded nothing): in doubt."""
    settings.TWILIO_TIMEOUT_SECONDS = 0.2
    twilio_sms.response_delay_seconds = 0.5
    notification_request(
        notification_type=notification_type, recipient_nurse_id=nurse.pk, task_id=task.pk, dedupe_key="doubt"
    )
    drain()
    [request] = twilio_sms.wait_for_requests(1)
    twilio_sms.response_delay_seconds = 0
    log = NotificationLog.objects.get(dedupe_key="doubt")
    assert (log.status, log.in_doubt_since is not None) == ("PENDING", True)
    return log, request


def test_a_send_in_doubt_retried_late_is_looked_up_by_the_text_it_sent(twilio_sms, settings):
    """The retry comes after the "sent late" mark would apply: the earlier attempt is looked up as it went (without
    the mark) and found, so the nurse does not get the message a second time."""
    log, request = in_doubt_at_twilio(twilio_sms, settings, NurseFactory(), EscalationTaskFactory())
    settings.NOTIFICATION_FALLBACK_AFTER_SECONDS = 0
    expire_lease(log)
    notification_deliver(notification_id=log.pk)
    log.refresh_from_db()
    assert (log.status, log.provider_message_id, log.sent_late) == ("SENT", request.sid, False)
    assert "sent late" not in log.body
    assert len(twilio_sms.requests) == 1


def test_a_send_in_doubt_that_never_left_is_marked_late_when_it_goes_late(twilio_sms, settings):
    with twilio_refusing(settings):
        log = ask(NurseFactory(), EscalationTaskFactory())
    settings.NOTIFICATION_FALLBACK_AFTER_SECONDS = 0
    expire_lease(log)
    notification_deliver(notification_id=log.pk)
    log.refresh_from_db()
    [request] = twilio_sms.requests
    assert (log.status, log.sent_late, twilio_sms.lookups) == ("SENT", True, 1)
    assert "(sent late: first tried" in request.form["Body"] == log.body


def breach_now(task, *, after: float = 0):
    """The task's warning is due, and its breach `after` seconds from now."""
    breach = timezone.now() + dt.timedelta(seconds=after)
    EscalationTask.objects.filter(pk=task.pk).update(
        sla_warning_at=breach - dt.timedelta(seconds=1), sla_breach_at=breach
    )


def test_a_warning_in_doubt_past_its_breach_that_had_left_is_recorded_sent_when_it_left(twilio_sms, settings):
    """Its worker lost PostgreSQL after Twilio took the warning; the retry comes after the breach. The warning is not
    given up as if it had never gone: Twilio's record is found, and the row says SENT at Twilio's time (before the
    breach), with Twilio's id. Nothing is sent again."""
    task = EscalationTaskFactory(severity="LOW")
    log, request = in_doubt_at_twilio(twilio_sms, settings, NurseFactory(), task, "SLA_WARNING")
    breach_now(task)
    expire_lease(log)
    notification_deliver(notification_id=log.pk)
    log.refresh_from_db()
    task.refresh_from_db()
    assert (log.status, log.provider_message_id, log.in_doubt_since) == ("SENT", request.sid, None)
    assert log.sent_at < task.sla_breach_at
    assert (len(twilio_sms.requests), twilio_sms.lookups) == (1, 1)


def warning_in_doubt_never_sent(settings, task):
    """An SLA warning whose one attempt was in doubt for the worker (Twilio refused the connection): nothing left."""
    with twilio_refusing(settings):
        notification_request(
            notification_type="SLA_WARNING", recipient_nurse_id=NurseFactory().pk, task_id=task.pk, dedupe_key="w"
        )
        drain()
    log = NotificationLog.objects.get(dedupe_key="w")
    assert (log.status, log.in_doubt_since is not None) == ("PENDING", True)
    return log


def test_a_warning_in_doubt_past_its_breach_that_never_left_is_given_up_after_asking(twilio_sms, settings):
    task = EscalationTaskFactory(severity="LOW")
    log = warning_in_doubt_never_sent(settings, task)
    breach_now(task)
    expire_lease(log)
    notification_deliver(notification_id=log.pk)
    log.refresh_from_db()
    # Asked first (Twilio has nothing), then given up: the words do not say it may have left.
    assert (log.status, log.error_code, twilio_sms.lookups, twilio_sms.requests) == ("CANCELLED", "breach_due", 1, [])
    assert "may have reached" not in log.error_message


def test_a_warning_whose_breach_comes_while_twilio_is_asked_is_given_up_not_sent(twilio_sms, settings):
    """Claimed before its breach, a warning in doubt is looked up at Twilio (nothing there); the breach passes during
    the lookup. It is asked again at the hand-off and given up: no warning leaves after its breach."""
    task = EscalationTaskFactory(severity="LOW")
    log = warning_in_doubt_never_sent(settings, task)
    twilio_sms.lookup_delay_seconds = 0.6
    breach_now(task, after=0.3)
    expire_lease(log)
    notification_deliver(notification_id=log.pk)
    log.refresh_from_db()
    assert (log.status, log.error_code, twilio_sms.lookups, twilio_sms.requests) == ("CANCELLED", "breach_due", 1, [])


def test_a_warning_handed_to_twilio_before_its_breach_is_sent_then_though_the_answer_comes_after(twilio_sms, settings):
    """Twilio answers after the breach; the warning left before it, and its row says so."""
    task = EscalationTaskFactory(severity="LOW")
    notification_request(
        notification_type="SLA_WARNING", recipient_nurse_id=NurseFactory().pk, task_id=task.pk, dedupe_key="w"
    )
    log = NotificationLog.objects.get(dedupe_key="w")
    twilio_sms.response_delay_seconds = 0.6
    breach_now(task, after=0.3)
    notification_deliver(notification_id=log.pk)
    log.refresh_from_db()
    task.refresh_from_db()
    [request] = twilio_sms.requests
    assert (log.status, log.provider_message_id) == ("SENT", request.sid)
    assert log.sent_at < task.sla_breach_at < timezone.now()
