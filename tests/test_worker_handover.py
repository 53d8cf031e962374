"""Who holds a task, and when (docs/handover.md), against real workers, Beat, PostgreSQL and Redis: a shift ends, a
nurse is deactivated, an assignment is not acknowledged (also across kill -9 and a Redis wipe), a nurse answers her
SMS. The worker stack chases CRITICAL tasks after 9 s and 18 s (tests/worker.py); the sweeps run every second."""

import datetime as dt
import time
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from care_events.choices import Severity
from care_events.platform.bus.models import Event
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask, Nurse, NurseShift
from tasks_app.services.nurses import nurse_user_save
from tasks_app.services.tasks import task_acknowledge
from tests.notifications.test_webhooks import INBOUND, PUBLIC_BASE_URL, TOKEN, post, sms, twiml_messages
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory, NurseShiftFactory
from tests.worker import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SECOND = dt.timedelta(seconds=1)


def on_shift(*, until: dt.timedelta = dt.timedelta(hours=8), **nurse_fields) -> Nurse:
    now = timezone.now()
    fields = {f"nurse__{k}": v for k, v in {"max_open_tasks": 50, **nurse_fields}.items()}
    return NurseShiftFactory(starts_at=now - dt.timedelta(hours=1), ends_at=now + until, **fields).nurse


def assigned_to(nurse: Nurse, count: int, **task_fields) -> list[EscalationTask]:
    with transaction.atomic():
        tasks = [EscalationTaskFactory(**task_fields) for _ in range(count)]
    ids = [t.pk for t in tasks]
    wait_until(
        lambda: EscalationTask.objects.filter(pk__in=ids, assigned_to=nurse, status="ASSIGNED").count() == count,
        what=f"{count} tasks assigned",
    )
    return list(EscalationTask.objects.filter(pk__in=ids))


def acknowledge_all() -> None:
    """The new holders answer, so that no chase runs on into the next test."""
    for task in EscalationTask.objects.filter(status="ASSIGNED"):
        task_acknowledge(task=task, nurse=None)


def test_a_shift_ends_with_6_open_tasks_each_goes_once_to_a_nurse_on_shift_who_is_alerted(worker):
    leaver = on_shift(until=dt.timedelta(seconds=6))
    tasks = assigned_to(leaver, 5, severity=Severity.MODERATE) + assigned_to(leaver, 1, severity=Severity.CRITICAL)
    staying = [on_shift(), on_shift()]
    tomorrow = NurseShiftFactory(
        starts_at=timezone.now() + dt.timedelta(hours=20), ends_at=timezone.now() + dt.timedelta(hours=28)
    ).nurse
    ended_at = NurseShift.objects.get(nurse=leaver).ends_at

    wait_until(
        lambda: not EscalationTask.objects.filter(assigned_to=leaver).exists(),
        timeout=60,
        what="every task handed over",
    )
    assert timezone.now() - ended_at < dt.timedelta(minutes=1)
    moves = Event.objects.filter(name="task/reassigned", data__reason="SHIFT_ENDED")
    assert Counter(moves.values_list("data__task_id", flat=True)) == {str(t.pk): 1 for t in tasks}
    assert set(moves.values_list("data__from_nurse_id", flat=True)) == {leaver.pk}
    assert set(moves.values_list("data__to_nurse_id", flat=True)) <= {n.pk for n in staying}
    holders = set(EscalationTask.objects.values_list("assigned_to_id", flat=True))
    assert holders <= {n.pk for n in staying} and tomorrow.pk not in holders
    for task in EscalationTask.objects.all():
        wait_until(
            lambda task=task: NotificationLog.objects.filter(
                task=task, type="TASK_REASSIGNED", recipient_nurse_id=task.assigned_to_id, status="SENT"
            ).exists(),
            what="the new holder's alert",
        )
    # Its SLA is the one it had.
    assert {t.pk: t.sla_breach_at for t in EscalationTask.objects.all()} == {t.pk: t.sla_breach_at for t in tasks}
    acknowledge_all()


def test_a_back_to_back_shift_keeps_her_tasks(worker):
    nurse = on_shift(until=dt.timedelta(seconds=3))
    ends = NurseShift.objects.get(nurse=nurse).ends_at
    NurseShiftFactory(nurse=nurse, starts_at=ends + dt.timedelta(minutes=5), ends_at=ends + dt.timedelta(hours=8))
    tasks = assigned_to(nurse, 3)
    on_shift()  # someone who could take them
    wait_until(lambda: timezone.now() > ends + 5 * SECOND, what="five sweeps after her shift ended")
    time.sleep(1)
    assert set(
        EscalationTask.objects.filter(pk__in=[t.pk for t in tasks]).values_list("assigned_to_id", flat=True)
    ) == {nurse.pk}
    assert not Event.objects.filter(name__in=["task/reassigned", "task/handed_back"]).exists()


def test_deactivating_a_nurse_hands_her_tasks_over_the_same_way(worker):
    leaving = on_shift()
    tasks = assigned_to(leaving, 3)
    staying = on_shift()
    admin = get_user_model().objects.create_superuser("boss", "boss@hospital.example", "pw-not-used-here")
    with transaction.atomic():
        leaving.is_active = False
        nurse_user_save(
            nurse=leaving,
            first_name=leaving.user.first_name,
            last_name=leaving.user.last_name,
            email=leaving.email,
            is_active=False,
            actor=admin,
        )
        leaving.save()

    wait_until(lambda: EscalationTask.objects.filter(assigned_to=staying).count() == 3, what="her tasks handed over")
    moves = Event.objects.filter(name="task/reassigned", data__reason="NURSE_DEACTIVATED")
    assert Counter(moves.values_list("data__task_id", flat=True)) == {str(t.pk): 1 for t in tasks}
    wait_until(
        lambda: (
            NotificationLog.objects.filter(type="TASK_REASSIGNED", recipient_nurse=staying, status="SENT").count() == 3
        ),
        what="three alerts to the new holder",
    )
    acknowledge_all()


def test_an_unacknowledged_critical_task_is_reminded_then_handed_on_once_each_through_kill_9_and_a_redis_wipe(worker):
    first = on_shift(preferred_channel="SMS")
    second = on_shift()
    Nurse.objects.filter(pk=second.pk).update(last_assigned_at=timezone.now())
    charge = NurseFactory(is_supervisor=True)
    [task] = assigned_to(first, 1, severity=Severity.CRITICAL)
    worker.kill_workers()  # the assignment's messages and the timers' ETA messages die with them...
    worker.flush_redis()  # ...and Redis forgets whatever it held
    worker.start_workers()

    wait_until(
        lambda: NotificationLog.objects.filter(type="ACK_REMINDER", recipient_nurse=first).exists(),
        timeout=60,
        what="the reminder",
    )
    worker.kill_workers()
    worker.flush_redis()
    worker.start_workers()
    wait_until(
        lambda: EscalationTask.objects.filter(pk=task.pk, assigned_to=second).exists(),
        timeout=60,
        what="the hand-on to the next nurse",
    )
    task_acknowledge(task=EscalationTask.objects.get(pk=task.pk), nurse=second)
    wait_until(
        lambda: NotificationLog.objects.filter(type="ACK_ESCALATED", recipient_nurse=charge, status="SENT").exists(),
        what="the charge nurse's alert",
    )

    reminder = NotificationLog.objects.get(type="ACK_REMINDER")
    assert (reminder.recipient_nurse_id, reminder.channel) == (first.pk, "PUSH")  # her next channel
    assert NotificationLog.objects.filter(type="ACK_ESCALATED").count() == 1
    assert Event.objects.filter(name="task/reassigned", data__reason="NOT_ACKNOWLEDGED").count() == 1
    sent_twice = Counter(NotificationLog.objects.values_list("dedupe_key", flat=True))
    assert max(sent_twice.values()) == 1


def test_an_sms_1_from_her_phone_acknowledges_from_another_phone_does_not_and_nothing_is_chased_after(worker):
    nurse = on_shift(phone="+14155550177")
    on_shift()
    [task] = assigned_to(nurse, 1, severity=Severity.CRITICAL)
    with override_settings(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=PUBLIC_BASE_URL):
        from django.test import Client

        client = Client()
        [answer] = twiml_messages(post(client, INBOUND, sms("1", sender="+14155550999")))
        assert answer == "Sequora: nothing was acknowledged from this number."
        assert EscalationTask.objects.get(pk=task.pk).status == "ASSIGNED"
        [answer] = twiml_messages(post(client, INBOUND, sms("1", sender=nurse.phone)))
        assert answer == "Sequora: acknowledged. Thank you."
    assert EscalationTask.objects.get(pk=task.pk).status == "ACKNOWLEDGED"

    acknowledged_at = EscalationTask.objects.get(pk=task.pk).acknowledged_at
    wait_until(lambda: timezone.now() > acknowledged_at + 20 * SECOND, timeout=40, what="past both intervals")
    assert not NotificationLog.objects.filter(type__in=["ACK_REMINDER", "ACK_ESCALATED"]).exists()
    assert EscalationTask.objects.get(pk=task.pk).assigned_to_id == nurse.pk
