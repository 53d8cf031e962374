"""An escalation task's life: created (then assigned and timed through `task/created`), acknowledged, resolved,
cancelled or reassigned. Every move locks the task and emits its event."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from care_events.bus.dispatch import emit
from care_events.bus.models import TimerKind
from care_events.bus.timers import timers_cancel
from care_events.choices import Severity
from care_events.models import AgentInteraction, Episode
from tasks_app.models import ActionType, EscalationTask, Nurse, Priority, TaskStatus
from tasks_app.services.assignment import nurse_unavailable_reason, task_assign, task_hand_over


class TaskStateError(Exception):
    """The task cannot make this move from its current status (the API answers 409)."""


# Severity → (SLA minutes, priority, action): the product's defaults (docs/events.md#sla). An explicit sla_minutes,
# priority or action_type on a flag wins. CRITICAL findings also tell the patient to seek emergency care: the task
# is the follow-up.
SEVERITY_DEFAULTS: dict[str, tuple[int, str, str]] = {
    Severity.CRITICAL: (30, Priority.URGENT, ActionType.EMERGENCY_GUIDANCE),
    Severity.HIGH: (120, Priority.HIGH, ActionType.NURSE_CALLBACK_2H),
    Severity.MODERATE: (480, Priority.NORMAL, ActionType.NURSE_CALLBACK_24H),
    Severity.LOW: (1440, Priority.LOW, ActionType.NURSE_CALLBACK_24H),
}
SLA_TIMERS = (TimerKind.SLA_WARNING, TimerKind.SLA_BREACH)


@transaction.atomic
def task_create(
    *,
    episode: Episode,
    severity: str,
    reason_codes: list[str],
    action_type: str | None = None,
    priority: str | None = None,
    sla_minutes: int | None = None,
    interaction: AgentInteraction | None = None,
    source_key: str | None = None,
) -> EscalationTask:
    """Create an escalation task; its save emits `task/created` (tasks_app/signals.py), which assigns it and
    starts its SLA timers. With a `source_key`, creating twice returns the first task."""
    if source_key is not None:
        existing = EscalationTask.objects.filter(source_key=source_key).first()
        if existing is not None:
            return existing
    default_sla, default_priority, default_action = SEVERITY_DEFAULTS[severity]
    sla_minutes = sla_minutes or default_sla
    now = timezone.now()
    task = EscalationTask(
        episode=episode,
        patient_id=episode.patient_id,
        interaction=interaction,
        severity=severity,
        reason_codes=reason_codes,
        action_type=action_type or default_action,
        priority=priority or default_priority,
        sla_minutes=sla_minutes,
        sla_warning_at=now + dt.timedelta(minutes=sla_minutes * 0.75),
        sla_breach_at=now + dt.timedelta(minutes=sla_minutes),
        source_key=source_key,
    )
    task.full_clean(exclude=["patient", "episode", "interaction"])
    task.save()
    return task


def _lock_open_task(task: EscalationTask) -> EscalationTask:
    task = EscalationTask.objects.select_for_update().get(pk=task.pk)
    if not task.is_open:
        raise TaskStateError(f"The task is {task.status.lower()} already.")
    return task


@transaction.atomic
def task_acknowledge(*, task: EscalationTask, nurse: Nurse | None) -> EscalationTask:
    """The assignee (or staff acting for her, nurse=None) acknowledges: ASSIGNED → ACKNOWLEDGED."""
    task = _lock_open_task(task)
    if task.status == EscalationTask.Status.ACKNOWLEDGED:
        return task
    if task.status != EscalationTask.Status.ASSIGNED:
        raise TaskStateError("Only an assigned task can be acknowledged.")
    if nurse is not None and task.assigned_to_id != nurse.pk:
        raise TaskStateError("Only the assignee can acknowledge this task.")
    task.status, task.acknowledged_at = EscalationTask.Status.ACKNOWLEDGED, timezone.now()
    task.save(update_fields=["status", "acknowledged_at", "updated_at"])
    emit(
        "task/acknowledged",
        {"task_id": task.pk, "nurse_id": task.assigned_to_id},
        idempotency_key=f"acknowledged:{task.pk}",
    )
    return task


@transaction.atomic
def task_resolve(*, task: EscalationTask, resolution: str) -> EscalationTask:
    """The nurse acted: the open task is RESOLVED with what was done."""
    return _close(task, status=EscalationTask.Status.RESOLVED, resolution=resolution, event_name="task/resolved")


@transaction.atomic
def task_cancel(*, task: EscalationTask, reason: str) -> EscalationTask:
    """Staff withdraw an open task that needs no action (a duplicate, a patient readmitted)."""
    return _close(task, status=EscalationTask.Status.CANCELLED, resolution=reason, event_name="task/cancelled")


def _close(task: EscalationTask, *, status: TaskStatus, resolution: str, event_name: str) -> EscalationTask:
    """An open task ends: its SLA timers are cancelled (a state change: they then never fire, and nobody is
    alerted about it again) and its event is emitted."""
    task = _lock_open_task(task)
    closed_at = "resolved_at" if status == EscalationTask.Status.RESOLVED else "cancelled_at"
    task.status, task.resolution = status, resolution
    setattr(task, closed_at, timezone.now())
    task.save(update_fields=["status", closed_at, "resolution", "updated_at"])
    timers_cancel(subject_id=task.pk, kinds=SLA_TIMERS)
    emit(event_name, {"task_id": task.pk}, idempotency_key=f"{event_name.removeprefix('task/')}:{task.pk}")
    return task


@transaction.atomic
def task_reassign(*, task: EscalationTask, nurse: Nurse | None) -> EscalationTask:
    """Staff move an open task to `nurse` (active, on shift now and under her limit, or TaskStateError says
    which is not so), or (nurse=None) back to round-robin among the other nurses on shift. The SLA deadlines stay
    those of the task's creation."""
    task = _lock_open_task(task)
    previous = task.assigned_to_id
    if nurse is not None:
        nurse = Nurse.objects.select_for_update(no_key=True).get(pk=nurse.pk)
        if nurse.pk == previous:
            return task
        unavailable = nurse_unavailable_reason(nurse=nurse, now=timezone.now())
        if unavailable is not None:
            raise TaskStateError(unavailable)
    task.status, task.assigned_to, task.assigned_at, task.acknowledged_at = (
        EscalationTask.Status.OPEN,
        None,
        None,
        None,
    )
    task.save(update_fields=["status", "assigned_to", "assigned_at", "acknowledged_at", "updated_at"])
    if nurse is None:
        task_assign(task_id=task.pk, exclude_nurse_id=previous)
    else:
        task_hand_over(task=task, nurse=nurse, previous_id=previous)
    task.refresh_from_db()
    return task
