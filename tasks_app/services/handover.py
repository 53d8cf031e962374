"""Hand-over: a task never stays with a nurse who cannot act on it (docs/handover.md).

- Her shift ended (and her next one does not start within HANDOVER_BACK_TO_BACK_MINUTES) or she was made
  inactive: the hand-over sweep (Beat, every SWEEP_INTERVAL_SECONDS, on the backstop queue) gives each of her open
  tasks to the next nurse on shift of the task's care team, by the round-robin of tasks_app.services.assignment.
  Deactivating her also publishes the sweep for her at once (tasks_app.services.nurses.nurse_hand_over_publish),
  so her tasks move within seconds.
- She did not acknowledge an assignment in time (the ACK_ESCALATION timer): the task goes to the next nurse on
  shift other than her, and the charge nurses are alerted.

Each move is once per task whatever fails: the task row is locked and the condition checked again inside the
transaction, so a redelivered or concurrent sweep, or a timer firing beside it, finds nothing left to do. The task
keeps its SLA (its timers are untouched: a warning or breach alerts whoever holds the task when it fires).
"""

import datetime as dt
import logging
import uuid

from django.db import transaction
from django.utils import timezone

from care_events.choices import NotificationType
from care_events.notify import notification_request
from care_events.platform.bus.dispatch import Actor, actor_id, emit
from tasks_app.models import EscalationTask, HandOverReason, Nurse, TaskStatus
from tasks_app.notify import ack_escalated_key, nurse_unreachable_key
from tasks_app.selectors import nurses_unable_to_hold, tasks_held_by_absent_nurses
from tasks_app.services.acknowledgement import ack_timers_cancel, waiting_for_ack
from tasks_app.services.assignment import nurse_next_lock, task_hand_over, task_unassigned_alert
from tasks_app.services.nurses import supervisors

logger = logging.getLogger(__name__)

HELD = (TaskStatus.ASSIGNED, TaskStatus.ACKNOWLEDGED)  # the statuses of a task someone holds


def _absence_reason(nurse: Nurse) -> str:
    return HandOverReason.SHIFT_ENDED if nurse.is_active else HandOverReason.NURSE_DEACTIVATED


def tasks_hand_over_sweep(*, nurse_id: int | None = None, actor: Actor = None) -> int:
    """The hand-over sweep: move every open task held by a nurse who cannot hold it (only `nurse_id`'s, when given).
    Returns how many tasks moved. Safe to run in several processes at once."""
    held = tasks_held_by_absent_nurses(timezone.now())
    if nurse_id is not None:
        held = held.filter(assigned_to_id=nurse_id)
    moved = 0
    for task_id in list(held.order_by("sla_breach_at").values_list("pk", flat=True)[:500]):
        moved += task_hand_over_from_absent(task_id=task_id, actor=actor)
    if moved:
        logger.info("hand-over sweep: %d tasks moved from nurses off shift or inactive", moved)
    return moved


@transaction.atomic
def task_hand_over_from_absent(*, task_id: uuid.UUID, actor: Actor = None) -> bool:
    """Move one task from a nurse who cannot hold it, if that is still so once the task is locked. Returns whether
    it moved (to a nurse, or back to the unassigned pool)."""
    # The row lock is the claim: a second sweep waits here, then finds the task with someone who can hold it.
    task = EscalationTask.objects.select_for_update().filter(pk=task_id, status__in=HELD).first()
    if task is None or task.assigned_to_id is None:
        return False
    if not nurses_unable_to_hold(timezone.now()).filter(pk=task.assigned_to_id).exists():
        return False
    previous = Nurse.objects.get(pk=task.assigned_to_id)
    reason = _absence_reason(previous)
    nurse = nurse_next_lock(care_team=task.care_team, exclude_id=previous.pk)
    if nurse is not None:
        task_hand_over(task=task, nurse=nurse, previous_id=previous.pk, actor=actor, reason=reason)
    else:
        _hand_back(task, previous=previous, reason=reason, actor=actor)
    return True


def _hand_back(task: EscalationTask, *, previous: Nurse, reason: str, actor: Actor) -> None:
    """Nobody on shift can take it: the task joins the unassigned pool (the assignment sweep tries again every
    minute) and the charge nurses hear of it once (the unassigned alert's key is once per task)."""
    task.status, task.assigned_to, task.assigned_at, task.acknowledged_at, task.ack_code = (
        TaskStatus.OPEN,
        None,
        None,
        None,
        "",
    )
    task.save(update_fields=["status", "assigned_to", "assigned_at", "acknowledged_at", "ack_code", "updated_at"])
    now = timezone.now()
    ack_timers_cancel(task_id=task.pk)
    emit(
        "task/handed_back",
        {"task_id": task.pk, "from_nurse_id": previous.pk, "reason": reason},
        once_for=(task.pk, previous.pk, now),
        actor=actor_id(actor),
    )
    task_unassigned_alert(task=task)
    logger.warning("task %s: nobody on shift to take it from nurse %s (%s)", task.pk, previous.pk, reason)


def ack_escalation_reach(*, task_id: uuid.UUID) -> None:
    """The second interval is over and the assignment is still not acknowledged (inside the firing transaction):
    the task goes to the next nurse on shift other than her, and the charge nurses are alerted. Nobody else on
    shift: it stays with her and the charge nurses are alerted all the same."""
    task = EscalationTask.objects.select_for_update().get(pk=task_id)
    if not waiting_for_ack(task):
        return
    assert task.assigned_to_id is not None and task.assigned_at is not None  # waiting_for_ack
    previous, assigned_at = task.assigned_to_id, task.assigned_at
    nurse = _hand_on(task, reason=HandOverReason.NOT_ACKNOWLEDGED)
    emit("task/ack_escalated", {"task_id": task.pk, "nurse_id": previous}, once_for=(task.pk, previous, assigned_at))
    for chief in supervisors(task.care_team):
        notification_request(
            notification_type=NotificationType.ACK_ESCALATED,
            recipient_nurse_id=chief.pk,
            task_id=task.pk,
            episode_id=task.episode_id,
            urgent=True,
            dedupe_key=ack_escalated_key(task_id=task.pk, supervisor_id=chief.pk, assigned_at=assigned_at),
        )
    logger.warning("task %s not acknowledged by nurse %s: handed to %s", task.pk, previous, nurse and nurse.pk)


def holder_unreachable(*, task_id: uuid.UUID, nurse_id: int, since: dt.datetime) -> bool:
    """An urgent alert about the task reached its holder `nurse_id` on none of her channels in time (inside the
    firing transaction of notifications' ALERT_UNREACHABLE timer). The rule of an unacknowledged assignment: a task
    still waiting for her acknowledgement goes to the next nurse on shift other than her (reason UNREACHABLE;
    nobody else: it stays with her); the charge nurses (but her) are alerted, once per assignment whatever the
    number of alerts that did not reach her. Nothing when the task is closed, no longer hers, or acknowledged by her
    since the alert was written (`since`: she is on it). Returns whether anything was done."""
    task = EscalationTask.objects.select_for_update().get(pk=task_id)
    if not task.is_open or task.assigned_to_id != nurse_id or task.assigned_at is None:
        return False
    if task.acknowledged_at is not None and task.acknowledged_at >= since:
        return False
    assigned_at = task.assigned_at
    nurse = _hand_on(task, reason=HandOverReason.UNREACHABLE) if waiting_for_ack(task) else None
    for chief in supervisors(task.care_team):
        if chief.pk == nurse_id:
            continue
        notification_request(
            notification_type=NotificationType.NURSE_UNREACHABLE,
            recipient_nurse_id=chief.pk,
            task_id=task.pk,
            episode_id=task.episode_id,
            urgent=True,
            dedupe_key=nurse_unreachable_key(
                task_id=task.pk, supervisor_id=chief.pk, nurse_id=nurse_id, assigned_at=assigned_at
            ),
        )
    logger.warning("task %s: nurse %s could not be reached; handed to %s", task.pk, nurse_id, nurse and nurse.pk)
    return True


def _hand_on(task: EscalationTask, *, reason: str) -> Nurse | None:
    """Give the (locked) task to the next nurse on shift other than its holder; None: nobody else, it stays."""
    assert task.assigned_to_id is not None
    nurse = nurse_next_lock(care_team=task.care_team, exclude_id=task.assigned_to_id)
    if nurse is not None:
        task_hand_over(task=task, nurse=nurse, previous_id=task.assigned_to_id, reason=reason)
    return nurse
