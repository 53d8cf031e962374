"""Assignment, SLA monitoring and task moves, in-process (tests/test_worker_*.py run them on a real worker)."""

import datetime as dt

import psycopg
import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from care_events.platform.bus.models import Timer
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask, NurseShift
from tasks_app.services.assignment import task_assign, tasks_assign_waiting
from tasks_app.services.tasks import TaskStateError, task_acknowledge, task_create, task_reassign, task_resolve
from tests.care_events.factories import EpisodeFactory
from tests.helpers import drain, event_names
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory, NurseShiftFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)


def on_shift(count, **nurse_fields):
    return [
        NurseShiftFactory(
            starts_at=T0 - dt.timedelta(hours=1),
            ends_at=T0 + dt.timedelta(hours=12),
            nurse__max_open_tasks=50,
            **{f"nurse__{k}": v for k, v in nurse_fields.items()},
        ).nurse
        for _ in range(count)
    ]


def test_tasks_go_round_robin_by_last_assignment():
    with time_machine.travel(T0, tick=True):
        nurses = on_shift(3)
        tasks = [EscalationTaskFactory() for _ in range(7)]
        drain()
    order = [EscalationTask.objects.get(pk=t.pk).assigned_to_id for t in tasks]
    assert order == [n.pk for n in nurses] * 2 + [nurses[0].pk]
    assert [s.tasks_assigned for s in NurseShift.objects.order_by("nurse_id")] == [3, 2, 2]


@pytest.mark.django_db(transaction=True)
def test_a_nurse_another_transaction_points_at_keeps_her_turn():
    """Writing a row that points at a nurse (her notification log, a task's assignee) holds FOR KEY SHARE on her
    row until it commits; the round-robin lock must not take that for "busy" and pass her over."""
    db = connection.settings_dict
    with time_machine.travel(T0, tick=True):
        first = on_shift(2)[0]  # the second is whom a wrong lock would pass the task to
        with psycopg.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"]) as other:
            other.execute("SELECT 1 FROM tasks_app_nurse WHERE id = %s FOR KEY SHARE", [first.pk])
            task = EscalationTaskFactory()
            drain()
            other.rollback()
    assert EscalationTask.objects.get(pk=task.pk).assigned_to_id == first.pk


@pytest.mark.django_db(transaction=True)
def test_a_nurse_logging_in_keeps_her_turn():
    """A login writes the nurse's user row (last_login) and holds its lock until it commits; choosing her locks
    only her nurse row, so she is not passed over for it."""
    db = connection.settings_dict
    with time_machine.travel(T0, tick=True):
        first = on_shift(2)[0]  # the second is whom a lock that took her user row too would pass the task to
        with psycopg.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"]) as login:
            login.execute("UPDATE auth_user SET last_login = now() WHERE id = %s", [first.user_id])
            task = EscalationTaskFactory()
            drain()
            login.rollback()
    assert EscalationTask.objects.get(pk=task.pk).assigned_to_id == first.pk


def test_assignment_skips_nurses_off_shift_inactive_or_full():
    with time_machine.travel(T0, tick=True):
        available = on_shift(1)[0]
        on_shift(1, is_active=False)
        full = on_shift(1)[0]
        full.max_open_tasks = 1
        full.save()
        EscalationTaskFactory(status="ASSIGNED", assigned_to=full, assigned_at=timezone.now())
        NurseFactory()  # no shift
        NurseShiftFactory(starts_at=T0 + dt.timedelta(hours=2), ends_at=T0 + dt.timedelta(hours=4))  # later
        tasks = [EscalationTaskFactory() for _ in range(3)]
        drain()
    assert {EscalationTask.objects.get(pk=t.pk).assigned_to_id for t in tasks} == {available.pk}


def test_a_redelivered_task_created_never_reassigns():
    with time_machine.travel(T0, tick=True):
        first, _second = on_shift(2)
        task = EscalationTaskFactory()
        drain()
        assert task_assign(task_id=task.pk) is None
    task.refresh_from_db()
    assert task.assigned_to_id == first.pk
    assert event_names().count("task/assigned") == 1
    assert NotificationLog.objects.filter(type="TASK_ASSIGNED").count() == 1


def test_the_assigned_nurse_is_notified_on_her_channel():
    with time_machine.travel(T0, tick=True):
        nurse = on_shift(1, preferred_channel="EMAIL")[0]
        task = EscalationTaskFactory(severity="HIGH")
        drain()
    log = NotificationLog.objects.get(type="TASK_ASSIGNED")
    assert (log.recipient_nurse_id, log.channel, log.status, log.task_id) == (nurse.pk, "EMAIL", "DELIVERED", task.pk)
    assert task.patient.last_name not in log.body  # no PHI in a nurse's message
    assert "notification/delivered" in event_names()


def test_nobody_on_shift_leaves_the_task_open_alerts_supervisors_once_and_a_new_shift_picks_it_up():
    with time_machine.travel(T0, tick=True):
        chief = NurseFactory(is_supervisor=True)
        task = EscalationTaskFactory()
        drain()
        task.refresh_from_db()
        assert (task.status, task.assigned_to_id) == ("OPEN", None)
        assert NotificationLog.objects.get(type="TASK_UNASSIGNED").recipient_nurse_id == chief.pk
    with time_machine.travel(T0 + dt.timedelta(minutes=1), tick=True):
        assert tasks_assign_waiting() == 0
        drain()
        assert NotificationLog.objects.filter(type="TASK_UNASSIGNED").count() == 1
        nurse = on_shift(1)[0]
        assert tasks_assign_waiting() == 1
        drain()
    task.refresh_from_db()
    assert (task.status, task.assigned_to_id) == ("ASSIGNED", nurse.pk)


def test_sla_warning_at_75_percent_and_breach_at_100_percent_exactly_once():
    with time_machine.travel(T0, tick=False):
        nurse = on_shift(1)[0]
        chief = NurseFactory(is_supervisor=True)
        task = task_create(episode=EpisodeFactory(), severity="HIGH", reason_codes=["HF_WEIGHT_GAIN"])
        drain()
        assert (task.sla_warning_at, task.sla_breach_at) == (
            T0 + dt.timedelta(minutes=90),
            T0 + dt.timedelta(minutes=120),
        )
    with time_machine.travel(T0 + dt.timedelta(minutes=89), tick=False):
        drain()
        assert "task/sla_warning" not in event_names()
    with time_machine.travel(T0 + dt.timedelta(minutes=90, seconds=1), tick=False):
        drain()
        drain()
        assert event_names().count("task/sla_warning") == 1
        assert "task/sla_breach" not in event_names()
    with time_machine.travel(T0 + dt.timedelta(minutes=120, seconds=1), tick=False):
        drain()
        drain()
    assert event_names().count("task/sla_warning") == 1
    assert event_names().count("task/sla_breach") == 1
    warning = NotificationLog.objects.get(type="SLA_WARNING")
    assert warning.recipient_nurse_id == nurse.pk
    breach = set(NotificationLog.objects.filter(type="SLA_BREACH").values_list("recipient_nurse_id", flat=True))
    assert breach == {nurse.pk, chief.pk}


def test_a_task_resolved_before_75_percent_gets_neither_warning_nor_breach():
    with time_machine.travel(T0, tick=False):
        on_shift(1)
        task = task_create(episode=EpisodeFactory(), severity="CRITICAL", reason_codes=["AMI_CHEST_PAIN"])
        drain()
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        task_resolve(task=task, resolution="Called the patient; 911 already on the way.")
        drain()
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        drain()
    assert "task/sla_warning" not in event_names() and "task/sla_breach" not in event_names()
    # Its two SLA timers and its two acknowledgement timers (docs/handover.md), all cancelled.
    assert Timer.objects.filter(subject_id=task.pk, cancelled_at__isnull=False).count() == 4
    assert not NotificationLog.objects.filter(type__in=["SLA_WARNING", "SLA_BREACH"]).exists()


def test_the_products_own_explicit_sla_wins_over_the_severity_table():
    # Only the product's code passes one (manage.py demo's one-minute task); the API cannot.
    task = task_create(episode=EpisodeFactory(), severity="LOW", reason_codes=[], sla_minutes=1)
    assert task.sla_minutes == 1
    assert task.sla_breach_at - task.sla_warning_at == dt.timedelta(minutes=1 * 0.25)


def test_acknowledge_and_resolve_move_the_task_on_and_refuse_wrong_moves():
    with time_machine.travel(T0, tick=True):
        nurse, other = on_shift(2)
        task = EscalationTaskFactory()
        drain()
        task.refresh_from_db()
        with pytest.raises(TaskStateError):
            task_acknowledge(task=task, nurse=other)
        task = task_acknowledge(task=task, nurse=nurse)
        assert task.status == "ACKNOWLEDGED"
        task = task_resolve(task=task, resolution="Spoke with the patient.")
        assert task.status == "RESOLVED"
        with pytest.raises(TaskStateError):
            task_resolve(task=task, resolution="again")
    names = event_names()
    assert names.count("task/acknowledged") == 1 and names.count("task/resolved") == 1


def test_reassignment_keeps_the_deadlines_and_notifies_the_new_nurse():
    with time_machine.travel(T0, tick=True):
        first, second, third = on_shift(3)
        task = EscalationTaskFactory()
        drain()
        task.refresh_from_db()
        deadlines = (task.sla_warning_at, task.sla_breach_at)
        task = task_reassign(task=task, nurse=third)
        drain()
        assert task.assigned_to_id == third.pk
        task = task_reassign(task=task, nurse=None)  # back to round-robin, never to the one it leaves
        drain()
    assert task.assigned_to_id == second.pk
    assert (task.sla_warning_at, task.sla_breach_at) == deadlines
    assert Timer.objects.filter(subject_id=task.pk, kind__startswith="SLA_").count() == 2
    assert set(NotificationLog.objects.filter(type="TASK_REASSIGNED").values_list("recipient_nurse_id", flat=True)) == {
        third.pk,
        second.pk,
    }
    assert first.pk not in (task.assigned_to_id,)


def test_the_sla_alerts_of_a_task_nobody_holds_go_to_the_supervisors():
    with time_machine.travel(T0, tick=False):
        chief = NurseFactory(is_supervisor=True)
        task = task_create(episode=EpisodeFactory(), severity="CRITICAL", reason_codes=["AMI_CHEST_PAIN"])
        drain()
    with time_machine.travel(T0 + dt.timedelta(minutes=31), tick=False):
        drain()
        drain()
    task.refresh_from_db()
    assert task.status == "OPEN"
    alerts = NotificationLog.objects.filter(task=task).values_list("type", "recipient_nurse_id")
    assert sorted(alerts) == sorted(
        [("TASK_UNASSIGNED", chief.pk), ("SLA_WARNING", chief.pk), ("SLA_BREACH", chief.pk)]
    )
