"""Who holds a task, and when (docs/handover.md): hand-over at shift end and on deactivation, and the escalation of an
assignment nobody acknowledges. In process, on the travelled clock; the same rules against real workers are in
tests/test_worker_handover.py."""

import datetime as dt
from collections import Counter

import pytest
import time_machine

from care_events.choices import Severity
from care_events.platform.bus.models import Event, Timer
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask, HandOverReason, NurseShift
from tasks_app.selectors import task_holder_history
from tasks_app.services.handover import tasks_hand_over_sweep
from tasks_app.services.nurses import nurse_user_save
from tasks_app.services.tasks import task_acknowledge
from tests.helpers import drain
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory, NurseShiftFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def shift(nurse=None, *, start: dt.timedelta, end: dt.timedelta, **nurse_fields):
    fields = (
        {"nurse": nurse} if nurse else {f"nurse__{k}": v for k, v in {"max_open_tasks": 50, **nurse_fields}.items()}
    )
    return NurseShiftFactory(starts_at=T0 + start, ends_at=T0 + end, **fields).nurse


def six_tasks_for_the_leaver():
    """A nurse whose shift ends at T0 + 1 h holds six open tasks (one CRITICAL, one acknowledged); the next nurse
    on shift takes them, not the one whose shift starts tomorrow."""
    leaver = shift(start=-8 * 60 * MINUTE, end=60 * MINUTE)
    staying = shift(start=-60 * MINUTE, end=8 * 60 * MINUTE)
    tomorrow = shift(start=20 * 60 * MINUTE, end=28 * 60 * MINUTE)
    with time_machine.travel(T0, tick=False):
        tasks = [EscalationTaskFactory(severity=Severity.CRITICAL if n == 0 else Severity.MODERATE) for n in range(6)]
        drain()
        # Round-robin spread them; give them all to the leaver, as if she had taken them.
        EscalationTask.objects.update(assigned_to=leaver)
        task_acknowledge(task=tasks[1], nurse=leaver)
        drain()
    return leaver, staying, tomorrow, tasks


def test_at_shift_end_each_open_task_goes_once_to_the_next_nurse_on_shift_keeping_its_sla():
    leaver, staying, tomorrow, tasks = six_tasks_for_the_leaver()
    deadlines = {t.pk: (t.sla_warning_at, t.sla_breach_at) for t in EscalationTask.objects.all()}
    with time_machine.travel(T0 + 59 * MINUTE, tick=False):
        assert tasks_hand_over_sweep() == 0  # still on shift
    with time_machine.travel(T0 + 61 * MINUTE, tick=False):
        assert tasks_hand_over_sweep() == 6
        assert tasks_hand_over_sweep() == 0  # a second sweep finds nothing to do
        drain()

    assert set(EscalationTask.objects.values_list("assigned_to_id", "status")) == {(staying.pk, "ASSIGNED")}
    assert {t.pk: (t.sla_warning_at, t.sla_breach_at) for t in EscalationTask.objects.all()} == deadlines
    moves = Event.objects.filter(name="task/reassigned", data__reason=HandOverReason.SHIFT_ENDED)
    assert Counter(moves.values_list("data__task_id", "data__from_nurse_id", "data__to_nurse_id")) == Counter(
        {(str(t.pk), leaver.pk, staying.pk): 1 for t in tasks}
    )
    reassigned = Event.objects.filter(name="task/reassigned")
    assert sorted(e.data["reason"] for e in reassigned) == ["SHIFT_ENDED"] * 6
    assert all(e.actor is None for e in reassigned)  # the system's own work
    messages = NotificationLog.objects.filter(type="TASK_REASSIGNED")
    assert Counter(messages.values_list("recipient_nurse_id", flat=True)) == {staying.pk: 6}
    # Her alert carries the code she may reply with.
    task = EscalationTask.objects.get(pk=tasks[0].pk)
    assert f"Reply ACK {task.ack_code} to acknowledge." in messages.get(task=task).body
    assert not NotificationLog.objects.filter(recipient_nurse=tomorrow).exists()


def test_a_back_to_back_shift_keeps_her_tasks(settings):
    settings.HANDOVER_BACK_TO_BACK_MINUTES = 15
    leaver, _staying, _, _ = six_tasks_for_the_leaver()
    shift(leaver, start=70 * MINUTE, end=9 * 60 * MINUTE)  # her next shift starts 10 min after this one ends
    with time_machine.travel(T0 + 61 * MINUTE, tick=False):
        assert tasks_hand_over_sweep() == 0
    assert set(EscalationTask.objects.values_list("assigned_to_id", flat=True)) == {leaver.pk}


def test_a_gap_longer_than_the_setting_hands_them_over(settings):
    settings.HANDOVER_BACK_TO_BACK_MINUTES = 5
    leaver, _staying, _, _ = six_tasks_for_the_leaver()
    shift(leaver, start=70 * MINUTE, end=9 * 60 * MINUTE)
    with time_machine.travel(T0 + 61 * MINUTE, tick=False):
        assert tasks_hand_over_sweep() == 6


def test_nobody_on_shift_puts_them_back_in_the_pool_and_tells_the_charge_nurse_once():
    leaver = shift(start=-8 * 60 * MINUTE, end=60 * MINUTE)
    charge = NurseFactory(is_supervisor=True)
    with time_machine.travel(T0, tick=False):
        task = EscalationTaskFactory()
        drain()
    with time_machine.travel(T0 + 61 * MINUTE, tick=False):
        assert tasks_hand_over_sweep() == 1
        assert tasks_hand_over_sweep() == 0
        drain()
    task.refresh_from_db()
    assert (task.status, task.assigned_to_id, task.ack_code) == ("OPEN", None, "")
    [handed_back] = Event.objects.filter(name="task/handed_back")
    assert handed_back.data == {"task_id": str(task.pk), "from_nurse_id": leaver.pk, "reason": "SHIFT_ENDED"}
    # The task's history says so (the task page's "Who has held it").
    assert [(c.what, c.to_nurse, c.reason) for c in task_holder_history(task_id=task.pk)][-1] == (
        "handed_back",
        "nobody",
        "SHIFT_ENDED",
    )
    assert NotificationLog.objects.filter(type="TASK_UNASSIGNED", recipient_nurse=charge).count() == 1
    assert not Timer.objects.pending().filter(subject_id=task.pk, kind__startswith="ACK_").exists()
    assert leaver.pk not in EscalationTask.objects.values_list("assigned_to_id", flat=True)


def test_a_deactivated_nurse_hands_over_with_its_own_reason_and_who_did_it(admin_user):
    with time_machine.travel(T0, tick=False):
        leaving = shift(start=-60 * MINUTE, end=8 * 60 * MINUTE)
        staying = shift(start=-60 * MINUTE, end=8 * 60 * MINUTE)
        task = EscalationTaskFactory()
        drain()
        EscalationTask.objects.update(assigned_to=leaving)
        leaving.is_active = False
        nurse_user_save(
            nurse=leaving, first_name="A", last_name="B", email="ab@hospital.example", is_active=False, actor=admin_user
        )
        leaving.save()
        assert tasks_hand_over_sweep(nurse_id=leaving.pk, actor=admin_user) == 1
    task.refresh_from_db()
    assert task.assigned_to_id == staying.pk
    move = Event.objects.get(name="task/reassigned", data__reason=HandOverReason.NURSE_DEACTIVATED)
    assert (move.data["from_nurse_id"], move.actor) == (leaving.pk, admin_user.pk)


def test_sla_stages_alert_whoever_holds_the_task_when_they_fire():
    _leaver, staying, _, tasks = six_tasks_for_the_leaver()
    with time_machine.travel(T0 + 61 * MINUTE, tick=False):
        tasks_hand_over_sweep()
    critical = EscalationTask.objects.get(pk=tasks[0].pk)
    with time_machine.travel(critical.sla_warning_at + MINUTE, tick=False):
        drain()
    assert set(
        NotificationLog.objects.filter(task=critical, type="SLA_WARNING").values_list("recipient_nurse_id", flat=True)
    ) == {staying.pk}


# --- Acknowledgement escalation ---------------------------------------------------------------------------------


def two_on_shift_and_a_critical_task():
    first = shift(start=-60 * MINUTE, end=8 * 60 * MINUTE, preferred_channel="SMS")
    second = shift(start=-60 * MINUTE, end=8 * 60 * MINUTE)
    charge = NurseFactory(is_supervisor=True)
    with time_machine.travel(T0, tick=False):
        task = EscalationTaskFactory(severity=Severity.CRITICAL)
        drain()
    task.refresh_from_db()
    assert task.assigned_to_id == first.pk
    return first, second, charge, task


def test_not_acknowledged_it_is_reminded_on_her_next_channel_then_handed_on_and_the_charge_nurse_told(settings):
    settings.ACK_REMIND_AFTER_MINUTES = {"CRITICAL": 5}
    settings.ACK_ESCALATE_AFTER_MINUTES = {"CRITICAL": 5}
    first, second, charge, task = two_on_shift_and_a_critical_task()
    with time_machine.travel(T0 + 4 * MINUTE, tick=False):
        drain()
        assert not NotificationLog.objects.filter(type="ACK_REMINDER").exists()
    with time_machine.travel(T0 + 5 * MINUTE + dt.timedelta(seconds=1), tick=False):
        drain()
        drain()
    [reminder] = NotificationLog.objects.filter(type="ACK_REMINDER")
    # Her chain is SMS, then the default PUSH, SMS, VOICE: the reminder goes by PUSH.
    assert (reminder.recipient_nurse_id, reminder.channel) == (first.pk, "PUSH")
    with time_machine.travel(T0 + 10 * MINUTE + dt.timedelta(seconds=1), tick=False):
        drain()
        drain()
    task.refresh_from_db()
    assert (task.assigned_to_id, task.status) == (second.pk, "ASSIGNED")
    moves = Event.objects.filter(name="task/reassigned", data__reason="NOT_ACKNOWLEDGED", data__from_nurse_id=first.pk)
    assert moves.count() == 1
    assert NotificationLog.objects.filter(type="ACK_ESCALATED", recipient_nurse=charge).count() == 1
    assert NotificationLog.objects.filter(type="TASK_REASSIGNED", recipient_nurse=second).count() == 1
    assert Event.objects.filter(name="task/ack_escalated").count() == 1
    # The new holder's own timers run from her assignment: her reminder 5 min later, once.
    with time_machine.travel(T0 + 15 * MINUTE + dt.timedelta(seconds=2), tick=False):
        drain()
    assert Counter(
        NotificationLog.objects.filter(type="ACK_REMINDER").values_list("recipient_nurse_id", flat=True)
    ) == {first.pk: 1, second.pk: 1}


def test_the_acknowledgement_cancels_the_chase(settings):
    settings.ACK_REMIND_AFTER_MINUTES = {"CRITICAL": 5}
    first, _second, _charge, task = two_on_shift_and_a_critical_task()
    with time_machine.travel(T0 + 2 * MINUTE, tick=False):
        task_acknowledge(task=task, nurse=first)
    with time_machine.travel(T0 + 60 * MINUTE, tick=False):
        drain()
    task.refresh_from_db()
    assert (task.assigned_to_id, task.status) == (first.pk, "ACKNOWLEDGED")
    assert not NotificationLog.objects.filter(type__in=["ACK_REMINDER", "ACK_ESCALATED"]).exists()
    assert Timer.objects.filter(subject_id=task.pk, kind__startswith="ACK_", cancelled_at__isnull=False).count() == 2


def test_a_low_task_is_not_chased():
    shift(start=-60 * MINUTE, end=8 * 60 * MINUTE)
    with time_machine.travel(T0, tick=False):
        task = EscalationTaskFactory(severity=Severity.LOW)
        drain()
    assert not Timer.objects.filter(subject_id=task.pk, kind__startswith="ACK_").exists()


def test_ack_codes_are_unique_among_a_nurses_open_tasks():
    shift(start=-60 * MINUTE, end=8 * 60 * MINUTE)
    with time_machine.travel(T0, tick=False):
        for _ in range(30):
            EscalationTaskFactory()
        drain()
    codes = list(EscalationTask.objects.values_list("ack_code", flat=True))
    assert len(set(codes)) == 30 and all(len(code) == 4 and code.isdigit() for code in codes)
    assert NurseShift.objects.get().tasks_assigned == 30


def test_the_board_marks_a_task_held_by_someone_off_shift_and_one_not_acknowledged():
    from django.test import Client
    from django.urls import reverse

    from care_events.platform.roles import CHARGE_NURSE
    from tests.helpers import force_admin_login
    from tests.tasks_app.factories import nurse_with_login

    charge = nurse_with_login(role=CHARGE_NURSE, is_supervisor=True)
    gone = NurseFactory()  # no shift: off shift now
    with time_machine.travel(T0, tick=False):
        held = EscalationTaskFactory()
        drain()
    EscalationTask.objects.filter(pk=held.pk).update(assigned_to=gone, status="ASSIGNED", assigned_at=T0)
    with time_machine.travel(T0 + 7 * MINUTE, tick=False):
        page = force_admin_login(Client(), charge.user).get(reverse("admin:tasks_app_escalationtask_board"))
    assert page.status_code == 200
    assert "held by someone off shift" in page.content.decode()
    assert "not acknowledged for 7 min" in page.content.decode()


def test_a_drawn_code_another_open_task_of_hers_holds_is_drawn_again(monkeypatch):
    """The code is written only where no open task of the nurse holds it: a colliding draw writes nothing (not even
    her turn or her shift's counter) and the next draw is taken; a code held by a task of hers that is closed does
    not count."""
    from tasks_app.services import acknowledgement

    draws = iter([1234, 5678, 1234, 5678, 42])
    monkeypatch.setattr(acknowledgement.secrets, "randbelow", lambda _: next(draws))
    nurse = shift(start=-60 * MINUTE, end=8 * 60 * MINUTE)
    with time_machine.travel(T0, tick=False):
        first, second = EscalationTaskFactory(), EscalationTaskFactory()
        drain()
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.ack_code, second.ack_code) == ("1234", "5678")
        EscalationTask.objects.filter(pk=second.pk).update(status="CANCELLED", cancelled_at=T0)
        third, fourth = EscalationTaskFactory(), EscalationTaskFactory()
        drain()
    third.refresh_from_db()
    fourth.refresh_from_db()
    # 1234 is held by her open first task: drawn again; 5678 only by a cancelled one: free.
    assert (third.ack_code, fourth.ack_code) == ("5678", "0042")
    assert nurse.shifts.get().tasks_assigned == 4  # one a task, the colliding draws counted nothing
