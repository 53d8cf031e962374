"""The charge nurse's powers (tasks_app/services/bulk.py, task_reassign's over-limit rule) and why tasks wait
unassigned (tasks_app.selectors.unassigned_cause), in-process on real PostgreSQL."""

import datetime as dt

import pytest
from django.utils import timezone

from care_events.platform.bus.models import Event
from care_events.platform.roles import CHARGE_NURSE
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask, Nurse
from tasks_app.selectors import task_holder_history, unassigned_cause, unassigned_causes
from tasks_app.services.bulk import nurse_tasks_hand_over, tasks_acknowledge_each, tasks_reassign_each
from tasks_app.services.tasks import OverLimitError, TaskStateError, task_acknowledge, task_reassign, task_resolve
from tests.helpers import drain
from tests.tasks_app.factories import (
    EscalationTaskFactory,
    NurseFactory,
    NurseShiftFactory,
    assigned_task,
    nurse_with_login,
)

pytestmark = pytest.mark.django_db


def on_shift(first: str, last: str, *, team: str = "default", limit: int = 10) -> Nurse:
    return NurseShiftFactory(
        nurse__user__first_name=first, nurse__user__last_name=last, nurse__care_team=team, nurse__max_open_tasks=limit
    ).nurse


@pytest.fixture
def charge_user():
    return nurse_with_login(
        role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton", is_supervisor=True, max_open_tasks=1
    ).user


def actors(name: str, task: EscalationTask) -> list[int | None]:
    return list(Event.objects.filter(name=name, data__task_id=str(task.pk)).values_list("actor", flat=True))


def moved_by(task: EscalationTask) -> list[int | None]:
    """The actors of the task's (re)assignments made by staff or round-robin, in order."""
    events = Event.objects.filter(name__in=("task/assigned", "task/reassigned"), data__task_id=str(task.pk))
    return list(events.order_by("created_at").values_list("actor", flat=True))


# --- Over a limit, off shift ------------------------------------------------------------------------------------


def test_a_nurse_at_her_limit_takes_a_task_only_after_the_charge_nurse_confirms(charge_user):
    mary = on_shift("Mary", "Seacole", limit=1)
    assigned_task(mary)
    task = assigned_task(None)

    with pytest.raises(OverLimitError, match=r"Mary Seacole already holds 1 open tasks \(limit 1\)\. Confirm"):
        task_reassign(task=task, nurse=mary, actor=charge_user)
    task.refresh_from_db()
    assert task.assigned_to is None

    task = task_reassign(task=task, nurse=mary, actor=charge_user, allow_over_limit=True)

    assert (task.assigned_to, task.status) == (mary, "ASSIGNED")
    assert moved_by(task) == [charge_user.pk]


def test_over_the_limit_still_refuses_a_nurse_off_shift_or_inactive_in_words(charge_user):
    off = NurseFactory(user__first_name="Edith", user__last_name="Cavell")
    gone = on_shift("Linda", "Richards")
    Nurse.objects.filter(pk=gone.pk).update(is_active=False)
    gone.refresh_from_db()
    task = assigned_task(None)

    with pytest.raises(TaskStateError, match=r"Edith Cavell is not on shift now \(no shift planned\)\."):
        task_reassign(task=task, nurse=off, actor=charge_user, allow_over_limit=True)
    with pytest.raises(TaskStateError, match=r"Linda Richards is not active\."):
        task_reassign(task=task, nurse=gone, actor=charge_user, allow_over_limit=True)
    task.refresh_from_db()
    assert task.assigned_to is None and not moved_by(task)


# --- The acknowledgement does not carry over ----------------------------------------------------------------------


def test_a_reassigned_acknowledged_task_waits_for_its_new_nurse_to_acknowledge(charge_user):
    florence, mary = on_shift("Florence", "Nightingale"), on_shift("Mary", "Seacole")
    task = assigned_task(florence, minutes_to_breach=12)
    task_acknowledge(task=task, nurse=florence, actor=florence.user)

    [outcome] = tasks_reassign_each(task_ids=[task.pk], nurse=mary, actor=charge_user)

    task.refresh_from_db()
    assert (task.status, task.assigned_to, task.acknowledged_at) == ("ASSIGNED", mary, None)
    assert outcome.done
    assert outcome.words == (
        "Reassigned from Florence Nightingale to Mary Seacole (11 min of its SLA left). Florence Nightingale's "
        "acknowledgement does not carry over: now waiting for Mary Seacole to acknowledge."
    )
    # The history keeps who held it and who acknowledged, and who moved it.
    history = task_holder_history(task_id=task.pk)
    assert [(h.what, h.from_nurse, h.to_nurse) for h in history][-2:] == [
        ("acknowledged", None, "Florence Nightingale"),
        ("reassigned", "Florence Nightingale", "Mary Seacole"),
    ]
    assert history[-1].by == "Clara Barton"
    # She acknowledges it herself.
    task_acknowledge(task=task, nurse=mary, actor=mary.user)
    task.refresh_from_db()
    assert task.status == "ACKNOWLEDGED"


# --- Bulk moves: each task on its own, every outcome in words -----------------------------------------------------


def test_bulk_assign_does_what_it_can_and_says_why_not_for_the_rest(charge_user):
    mary = on_shift("Mary", "Seacole", limit=2)
    assigned_task(mary)
    fine, over, closed = assigned_task(None), assigned_task(None), assigned_task(None)
    task_resolve(task=closed, resolution="Called back already.")
    missing = EscalationTaskFactory.build().pk

    outcomes = tasks_reassign_each(task_ids=[fine.pk, over.pk, closed.pk, missing], nurse=mary, actor=charge_user)

    assert [outcome.done for outcome in outcomes] == [True, False, False, False]
    assert outcomes[0].words.startswith("Assigned to Mary Seacole (")
    assert outcomes[1].needs_confirmation and "Mary Seacole already holds 2 open tasks (limit 2)" in outcomes[1].words
    assert outcomes[2].words == "The task is resolved already."
    assert outcomes[3].words == "No such task."
    assert EscalationTask.objects.get(pk=fine.pk).assigned_to == mary
    assert EscalationTask.objects.get(pk=over.pk).assigned_to is None
    assert moved_by(fine) == [charge_user.pk]

    # The second submit, confirmed, takes her over her limit.
    [confirmed] = tasks_reassign_each(task_ids=[over.pk], nurse=mary, actor=charge_user, allow_over_limit=True)
    assert confirmed.done and EscalationTask.objects.get(pk=over.pk).assigned_to == mary


def test_bulk_assign_by_round_robin_spreads_the_tasks_and_says_when_nobody_has_room(charge_user):
    on_shift("Florence", "Nightingale", limit=2), on_shift("Mary", "Seacole", limit=1)
    Nurse.objects.filter(user=charge_user).update(is_active=False)
    tasks = [assigned_task(None) for _ in range(4)]

    outcomes = tasks_reassign_each(task_ids=[t.pk for t in tasks], nurse=None, actor=charge_user)

    holders = sorted(str(EscalationTask.objects.get(pk=t.pk).assigned_to) for t in tasks[:3])
    assert holders == ["Florence Nightingale", "Florence Nightingale", "Mary Seacole"]
    assert [o.done for o in outcomes] == [True, True, True, False]
    assert outcomes[3].words.startswith(
        "nobody else could take it (all 2 nurses of team default on shift are at their limit), so it waits"
    )


def test_bulk_acknowledge_acknowledges_for_each_assignee_and_refuses_an_unassigned_one(charge_user):
    florence = on_shift("Florence", "Nightingale")
    held, waiting = assigned_task(florence), assigned_task(None)

    outcomes = tasks_acknowledge_each(task_ids=[held.pk, waiting.pk], actor=charge_user)

    assert [(o.done, o.words) for o in outcomes] == [
        (True, "Acknowledged for Florence Nightingale."),
        (False, "Only an assigned task can be acknowledged."),
    ]
    assert EscalationTask.objects.get(pk=held.pk).status == "ACKNOWLEDGED"
    assert actors("task/acknowledged", held) == [charge_user.pk]


def test_hand_over_all_of_a_nurses_tasks_by_round_robin_never_back_to_her(charge_user):
    florence = on_shift("Florence", "Nightingale")
    mary, edith = on_shift("Mary", "Seacole"), on_shift("Edith", "Cavell")
    Nurse.objects.filter(user=charge_user).update(is_active=False)
    tasks = [assigned_task(florence, minutes_to_breach=30 + i) for i in range(4)]

    outcomes = nurse_tasks_hand_over(nurse=florence, to_nurse=None, actor=charge_user)
    drain()

    assert all(o.done for o in outcomes) and len(outcomes) == 4
    holders = [EscalationTask.objects.get(pk=t.pk).assigned_to for t in tasks]
    assert florence not in holders and {holders.count(mary), holders.count(edith)} == {2}
    assert NotificationLog.objects.filter(type="TASK_REASSIGNED", recipient_nurse__in=[mary, edith]).count() == 4
    assert all(actors("task/reassigned", t) == [charge_user.pk] for t in tasks)
    assert EscalationTask.objects.get(pk=tasks[0].pk).sla_breach_at == tasks[0].sla_breach_at  # the SLA is kept


def test_hand_over_all_to_a_named_nurse(charge_user):
    florence, mary = on_shift("Florence", "Nightingale"), on_shift("Mary", "Seacole")
    tasks = [assigned_task(florence) for _ in range(3)]

    outcomes = nurse_tasks_hand_over(nurse=florence, to_nurse=mary, actor=charge_user)

    assert [o.done for o in outcomes] == [True] * 3
    assert {EscalationTask.objects.get(pk=t.pk).assigned_to for t in tasks} == {mary}
    [again] = nurse_tasks_hand_over(nurse=mary, to_nurse=mary, actor=charge_user)[:1]
    assert again.words == "Mary Seacole holds it already."


# --- Why tasks wait unassigned ------------------------------------------------------------------------------------


def test_the_unassigned_cause_per_care_team_nobody_on_shift_or_all_at_their_limit():
    """Campus north has nobody on shift; campus south's two nurses are at their limit; default has room."""
    for limit in (1, 1):
        assigned_task(on_shift("S", "Nurse", team="south", limit=limit), care_team="south")
    on_shift("D", "Nurse", team="default", limit=3)
    NurseFactory(care_team="north")  # of the team, but not on shift
    for _ in range(2):
        assigned_task(None, care_team="north")
    assigned_task(None, care_team="south")

    causes = {cause.care_team: cause for cause in unassigned_causes(now=timezone.now())}

    assert set(causes) == {"north", "south"}
    assert (causes["north"].waiting, causes["north"].text) == (2, "nobody of team north is on shift")
    assert (causes["south"].waiting, causes["south"].text) == (
        1,
        "all 2 nurses of team south on shift are at their limit",
    )
    assert unassigned_cause(care_team="default", now=timezone.now()).text == (
        "1 of 1 nurses of team default on shift have room: assigned within a minute"
    )


def test_the_supervisors_alert_says_why_the_task_waits_without_phi(settings):
    settings.CARE_TEAM_BY_FACILITY = {"NORTH": "north"}
    chief = NurseShiftFactory(nurse__is_supervisor=True, nurse__care_team="default").nurse
    on_shift("D", "Nurse", team="default")  # room elsewhere: not the north campus's
    task = EscalationTaskFactory(care_team="north", episode__facility="NORTH")
    drain()

    alert = NotificationLog.objects.get(type="TASK_UNASSIGNED", task_id=task.pk)
    assert alert.recipient_nurse == chief
    assert "nobody of team north is on shift" in alert.body
    assert task.patient.last_name not in alert.body and task.patient.first_name not in alert.body
    assert EscalationTask.objects.get(pk=task.pk).assigned_to is None
    assert dt.timedelta(0) <= timezone.now() - alert.created_at < dt.timedelta(minutes=1)
