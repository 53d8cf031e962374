"""A charge nurse's moves on many tasks at once: assign or reassign several, acknowledge several, hand over all of a
nurse's tasks. Each task is its own transaction (through the one-task services in tasks.py), so a refusal of one
(closed meanwhile, the nurse went off shift, nobody has room) leaves the others done: what a charge nurse wants
from "assign these 5" is the 4 that could be, and the fifth named with its reason, not a rollback of all five. A
short transaction per task also keeps round-robin's per-team lock short. Every outcome is in words, naming nurses
and the SLA left, never the patient (the words go to admin's log and to messages)."""

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable

from django.utils import timezone

from care_events.platform.bus.dispatch import Actor
from care_events.platform.errors import ApplicationError
from tasks_app.models import OPEN_TASK_STATUSES, EscalationTask, Nurse
from tasks_app.selectors import unassigned_cause
from tasks_app.services.tasks import OverLimitError, task_acknowledge, task_reassign


@dataclasses.dataclass(frozen=True)
class TaskOutcome:
    task_id: uuid.UUID
    done: bool
    words: str  # what happened, or why not: nurses' names and the SLA, no PHI
    needs_confirmation: bool = False  # refused only because the nurse is at her limit (a charge nurse may confirm)


def sla_left_words(*, task: EscalationTask, now: dt.datetime) -> str:
    """ "12 min of its SLA left", "1 h 05 min of its SLA left", or "its SLA breached 3 min ago"."""
    seconds = int((task.sla_breach_at - now).total_seconds())
    minutes = abs(seconds) // 60
    span = f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
    return f"{span} of its SLA left" if seconds > 0 else f"its SLA breached {span} ago"


def reassignment_words(*, before: Nurse | None, was_acknowledged: bool, task: EscalationTask) -> str:
    """What a (re)assignment did, for the charge nurse: to whom, the SLA left, and the acknowledgement rule made
    visible (a reassigned task waits for its new nurse to acknowledge; docs/handover.md)."""
    sla = sla_left_words(task=task, now=timezone.now())
    if task.assigned_to is None:
        cause = unassigned_cause(care_team=task.care_team, now=timezone.now()).text
        taken = f"Taken from {before}; " if before is not None else ""
        return f"{taken}nobody else could take it ({cause}), so it waits unassigned; {sla}."
    moved = f"Reassigned from {before} to {task.assigned_to}" if before else f"Assigned to {task.assigned_to}"
    waiting = f"waiting for {task.assigned_to} to acknowledge"
    if was_acknowledged:
        return f"{moved} ({sla}). {before}'s acknowledgement does not carry over: now {waiting}."
    return f"{moved} ({sla}). Now {waiting}."


def tasks_reassign_each(
    *, task_ids: Iterable[uuid.UUID], nurse: Nurse | None, actor: Actor, allow_over_limit: bool = False
) -> list[TaskOutcome]:
    """Assign or reassign each task to `nurse` (None: the next nurse on shift by round-robin, never over a limit),
    one transaction per task. `allow_over_limit`: the charge nurse confirmed giving the nurse more than her limit."""
    outcomes = []
    for task_id in dict.fromkeys(task_ids):  # each task once, in the order chosen
        task = EscalationTask.objects.select_related("assigned_to__user").filter(pk=task_id).first()
        if task is None:
            outcomes.append(TaskOutcome(task_id, False, "No such task."))
            continue
        before, was_acknowledged = task.assigned_to, task.status == EscalationTask.Status.ACKNOWLEDGED
        if nurse is not None and before is not None and before.pk == nurse.pk:
            outcomes.append(TaskOutcome(task_id, False, f"{nurse} holds it already."))
            continue
        try:
            moved = task_reassign(task=task, nurse=nurse, actor=actor, allow_over_limit=allow_over_limit)
        except OverLimitError as refused:
            outcomes.append(TaskOutcome(task_id, False, str(refused), needs_confirmation=True))
            continue
        except ApplicationError as refused:
            outcomes.append(TaskOutcome(task_id, False, str(refused)))
            continue
        moved = EscalationTask.objects.select_related("assigned_to__user").get(pk=moved.pk)
        done = moved.assigned_to is not None
        words = reassignment_words(before=before, was_acknowledged=was_acknowledged, task=moved)
        outcomes.append(TaskOutcome(task_id, done, words))
    return outcomes


def tasks_acknowledge_each(*, task_ids: Iterable[uuid.UUID], actor: Actor) -> list[TaskOutcome]:
    """A charge nurse acknowledges each task for its assignee (the event's actor says who did), one transaction
    per task."""
    outcomes = []
    for task_id in dict.fromkeys(task_ids):
        task = EscalationTask.objects.select_related("assigned_to__user").filter(pk=task_id).first()
        if task is None:
            outcomes.append(TaskOutcome(task_id, False, "No such task."))
            continue
        if task.status == EscalationTask.Status.ACKNOWLEDGED:
            outcomes.append(TaskOutcome(task_id, False, f"{task.assigned_to} had acknowledged it already."))
            continue
        try:
            task_acknowledge(task=task, nurse=None, actor=actor)
        except ApplicationError as refused:
            outcomes.append(TaskOutcome(task_id, False, str(refused)))
            continue
        outcomes.append(TaskOutcome(task_id, True, f"Acknowledged for {task.assigned_to}."))
    return outcomes


def nurse_tasks_hand_over(
    *, nurse: Nurse, to_nurse: Nurse | None, actor: Actor, allow_over_limit: bool = False
) -> list[TaskOutcome]:
    """Hand over all of `nurse`'s open tasks, the nearest breach first: to `to_nurse`, or (None) each to the next
    nurse on shift of the task's team by round-robin (never back to her); a task nobody can take joins the
    unassigned pool and its team's supervisors are alerted."""
    if to_nurse is not None and to_nurse.pk == nurse.pk:
        return [TaskOutcome(task_id, False, f"{nurse} holds it already.") for task_id in _open_task_ids(nurse)]
    return tasks_reassign_each(
        task_ids=_open_task_ids(nurse), nurse=to_nurse, actor=actor, allow_over_limit=allow_over_limit
    )


def _open_task_ids(nurse: Nurse) -> list[uuid.UUID]:
    return list(
        EscalationTask.objects.filter(assigned_to=nurse, status__in=OPEN_TASK_STATUSES)
        .order_by("sla_breach_at", "pk")
        .values_list("pk", flat=True)
    )
