"""An urgent alert that does not reach its nurse (docs/notifications.md): the next channel at its configured time,
outside the failing provider first; and when no channel has delivered it within its bound, the charge nurse is
alerted and the task handed on, once. In process, on the travelled clock, through the real Twilio SDK to the local
fake of Twilio's API; the same against real workers is tests/test_worker_unreachable.py."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from care_events.choices import NotificationType
from care_events.notify import notification_request
from care_events.platform.bus.models import Event, Timer
from notifications.backends import local
from notifications.models import NotificationLog
from notifications.services.channels import next_channel
from tasks_app.models import EscalationTask
from tasks_app.notify import sla_key
from tasks_app.services.tasks import task_acknowledge, task_resolve
from tests.helpers import drain
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory, NurseShiftFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
TWILIO = {
    "SMS": "notifications.backends.twilio.TwilioSmsBackend",
    "VOICE": "notifications.backends.twilio.TwilioVoiceBackend",
}


@pytest.fixture
def twilio(settings, fake_twilio):
    """SMS and voice through Twilio (the fake), failing until told otherwise; email and push stay local. Nobody is
    chased for an acknowledgement (docs/handover.md): its reminders and hand-ons would be counted here."""
    settings.NOTIFICATION_BACKENDS = {**settings.NOTIFICATION_BACKENDS, **TWILIO}
    settings.NOTIFICATION_FALLBACK_AFTER_SECONDS = 120
    settings.ALERT_UNREACHABLE_AFTER_MINUTES = {"CRITICAL": 5, "HIGH": 10}
    settings.ACK_REMIND_AFTER_MINUTES = {}
    local.clear_outbox()
    fake_twilio.fail_always(500, code=20500)
    return fake_twilio


# --- the chain's order ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chain", "tried", "expected"),
    [
        (["SMS", "VOICE", "EMAIL"], ["SMS"], "EMAIL"),  # not voice: Twilio too
        (["SMS", "VOICE", "PUSH", "EMAIL"], ["SMS"], "PUSH"),  # the first outside Twilio
        (["SMS", "VOICE", "EMAIL"], ["SMS", "EMAIL"], "VOICE"),  # then the rest, in her order
        (["PUSH", "SMS", "VOICE"], ["PUSH"], "SMS"),
        (["PUSH", "SMS", "VOICE"], ["PUSH", "SMS"], "VOICE"),
        (["SMS", "VOICE"], ["SMS"], "VOICE"),  # nothing outside Twilio: the next all the same
        (["SMS", "VOICE"], ["SMS", "VOICE"], None),
    ],
)
def test_the_next_channel_is_outside_the_failing_provider_first(settings, chain, tried, expected):
    settings.NOTIFICATION_BACKENDS = {**settings.NOTIFICATION_BACKENDS, **TWILIO}
    assert next_channel(chain, tried) == expected


def test_with_one_provider_for_every_channel_the_chain_keeps_its_order(settings):
    assert next_channel(["SMS", "VOICE", "EMAIL"], ["SMS"]) == "VOICE"  # all local: one provider


def test_after_sms_fails_for_good_email_comes_before_voice(twilio):
    twilio.fail_always(None)
    twilio.fail_next(1, status=400, code=30006)
    nurse = NurseFactory(preferred_channel="SMS", fallback_channels=["VOICE", "EMAIL"])
    with time_machine.travel(T0, tick=False):
        _assigned(nurse)
    chain = list(NotificationLog.objects.order_by("created_at").values_list("channel", "status"))
    assert chain == [("SMS", "FAILED"), ("EMAIL", "DELIVERED")]


# --- the fallback at its configured time ----------------------------------------------------------------------


def test_the_fallback_copy_is_created_at_the_configured_time_not_at_the_next_retry(twilio):
    nurse = NurseFactory(preferred_channel="SMS", fallback_channels=["EMAIL"])
    with time_machine.travel(T0, tick=False):
        sms = _assigned(nurse)
    assert (sms.status, sms.attempts) == ("PENDING", 1)
    # Its retries, each failing, until just before the configured time: no copy yet.
    for seconds in range(1, 120):
        with time_machine.travel(T0 + seconds * SECOND, tick=False):
            drain()
    sms.refresh_from_db()
    attempts = sms.attempts
    assert not NotificationLog.objects.filter(replaces=sms).exists()
    # The row's next try is later than the fallback's time (its backoff has grown past it).
    NotificationLog.objects.filter(pk=sms.pk).update(next_attempt_at=T0 + 300 * SECOND)
    with time_machine.travel(T0 + 120 * SECOND, tick=False):
        drain()
    email = NotificationLog.objects.get(replaces=sms)
    sms.refresh_from_db()
    assert (email.channel, email.status, email.created_at) == ("EMAIL", "DELIVERED", T0 + 120 * SECOND)
    # No retry made it: the timer did; the email reached her, so the SMS is given up (one alert, one delivery).
    assert (sms.status, sms.error_code, sms.attempts) == ("CANCELLED", "delivered_elsewhere", attempts)
    assert Timer.objects.get(kind="ALERT_FALLBACK", subject_id=sms.pk).fired_at == T0 + 120 * SECOND


def test_an_alert_that_went_out_has_no_fallback(twilio):
    twilio.fail_always(None)
    nurse = NurseFactory(preferred_channel="SMS", fallback_channels=["EMAIL"])
    with time_machine.travel(T0, tick=False):
        sms = _assigned(nurse)
    assert sms.status == "SENT"
    _charge_nurse_and_colleague()
    _everything_due(T0 + 30 * dt.timedelta(minutes=1))
    assert NotificationLog.objects.count() == 1  # no copy, nobody told
    assert set(Timer.objects.filter(subject_id=sms.pk).values_list("kind", "fired_at")) == {
        ("ALERT_FALLBACK", T0 + 120 * SECOND),
        ("ALERT_UNREACHABLE", T0 + 10 * dt.timedelta(minutes=1)),
    }  # fired, and did nothing
    assert EscalationTask.objects.get().assigned_to_id == nurse.pk


# --- unreachable: someone else is told ------------------------------------------------------------------------


def test_a_nurse_reachable_only_through_twilio_is_handed_over_and_the_charge_nurse_alerted_once(twilio, caplog):
    nurse = NurseFactory(preferred_channel="SMS", fallback_channels=["VOICE"])
    with time_machine.travel(T0, tick=False):
        sms = _assigned(nurse, severity="HIGH")
    chief, other = _charge_nurse_and_colleague()

    _everything_due(T0 + 9 * dt.timedelta(minutes=1) + 59 * SECOND)
    assert not NotificationLog.objects.filter(type="NURSE_UNREACHABLE").exists()
    assert NotificationLog.objects.get(replaces=sms).channel == "VOICE"  # the fallback, at 2 min
    _everything_due(T0 + 10 * dt.timedelta(minutes=1))
    _everything_due(T0 + 30 * dt.timedelta(minutes=1))

    task = EscalationTask.objects.get()
    told = NotificationLog.objects.filter(type="NURSE_UNREACHABLE")
    assert list(told.values_list("recipient_nurse", "channel", "status")) == [(chief.pk, "EMAIL", "DELIVERED")]
    assert told.get().created_at == T0 + 10 * dt.timedelta(minutes=1)
    assert (task.assigned_to_id, task.status) == (other.pk, "ASSIGNED")
    moves = Event.objects.filter(name="task/reassigned")
    assert list(moves.values_list("data__from_nurse_id", "data__reason")) == [(nurse.pk, "UNREACHABLE")]
    assert caplog.text.count("every channel of the nurse's chain failed") <= 1


def test_an_alert_she_acknowledged_the_task_after_tells_nobody(twilio):
    nurse = NurseFactory(preferred_channel="SMS", fallback_channels=["VOICE"])
    with time_machine.travel(T0, tick=False):
        _assigned(nurse, severity="CRITICAL")
    _charge_nurse_and_colleague()
    with time_machine.travel(T0 + 60 * SECOND, tick=False):
        task_acknowledge(task=EscalationTask.objects.get(), nurse=nurse)  # in the app: she is on it
    _everything_due(T0 + 20 * dt.timedelta(minutes=1))
    assert not NotificationLog.objects.filter(type="NURSE_UNREACHABLE").exists()
    assert EscalationTask.objects.get().assigned_to_id == nurse.pk


def test_a_breach_alert_that_reaches_her_nowhere_after_she_acknowledged_tells_the_charge_nurse_and_the_task_stays(
    twilio,
):
    nurse = NurseFactory(preferred_channel="SMS", fallback_channels=["VOICE"])
    with time_machine.travel(T0, tick=False):
        _assigned(nurse, severity="CRITICAL")
        task = EscalationTask.objects.get()
        task_acknowledge(task=task, nurse=nurse)
    chief, _ = _charge_nurse_and_colleague()
    with time_machine.travel(T0 + 60 * SECOND, tick=False):
        notification_request(
            notification_type=NotificationType.SLA_BREACH,
            recipient_nurse_id=nurse.pk,
            task_id=task.pk,
            dedupe_key=sla_key(stage=NotificationType.SLA_BREACH, task_id=task.pk, nurse_id=nurse.pk),
        )
        drain()
    _everything_due(T0 + 20 * dt.timedelta(minutes=1))
    told = NotificationLog.objects.filter(type="NURSE_UNREACHABLE")
    assert list(told.values_list("recipient_nurse", "created_at")) == [(chief.pk, T0 + 6 * dt.timedelta(minutes=1))]
    assert EscalationTask.objects.get().assigned_to_id == nurse.pk  # acknowledged: hers still
    assert not Event.objects.filter(name="task/reassigned").exists()


@pytest.mark.parametrize("closed_or_reached", ["resolved", "delivered"])
def test_nobody_is_told_when_the_alert_went_out_or_the_task_closed(twilio, closed_or_reached):
    nurse = NurseFactory(preferred_channel="SMS", fallback_channels=["VOICE"])
    with time_machine.travel(T0, tick=False):
        sms = _assigned(nurse, severity="CRITICAL")
    _charge_nurse_and_colleague()
    with time_machine.travel(T0 + 60 * SECOND, tick=False):
        if closed_or_reached == "resolved":
            task_resolve(task=EscalationTask.objects.get(), resolution="Called")
        else:
            twilio.fail_always(None)
            NotificationLog.objects.filter(pk=sms.pk).update(next_attempt_at=timezone.now())
            drain()
    _everything_due(T0 + 20 * dt.timedelta(minutes=1))
    assert not NotificationLog.objects.filter(type="NURSE_UNREACHABLE").exists()
    assert not Event.objects.filter(name="task/reassigned").exists()


def _assigned(nurse, **task_fields) -> NotificationLog:
    """A task assigned to `nurse` (the only nurse on shift), and her first alert about it."""
    NurseShiftFactory(nurse=nurse, starts_at=T0 - dt.timedelta(hours=1), ends_at=T0 + dt.timedelta(hours=8))
    task = EscalationTaskFactory(**task_fields)
    drain()
    assert EscalationTask.objects.get(pk=task.pk).assigned_to_id == nurse.pk
    return NotificationLog.objects.get(task=task, recipient_nurse=nurse, replaces=None)


def _charge_nurse_and_colleague():
    """A charge nurse reachable by email (not on shift: no task of the round-robin's), and a colleague on shift who
    can take the task."""
    shift = {"starts_at": T0 - dt.timedelta(hours=1), "ends_at": T0 + dt.timedelta(hours=8)}
    chief = NurseFactory(is_supervisor=True, preferred_channel="EMAIL")
    other = NurseShiftFactory(nurse__preferred_channel="EMAIL", nurse__max_open_tasks=50, **shift).nurse
    return chief, other


def _everything_due(until: dt.datetime) -> None:
    """Every timer and retry due up to `until`, each at its time."""
    while True:
        due = [
            *Timer.objects.pending().filter(due_at__lte=until).values_list("due_at", flat=True),
            *NotificationLog.objects.filter(status="PENDING", next_attempt_at__lte=until).values_list(
                "next_attempt_at", flat=True
            ),
        ]
        if not due:
            break
        with time_machine.travel(max(min(due), T0), tick=False):
            drain()
    with time_machine.travel(until, tick=False):
        drain()
