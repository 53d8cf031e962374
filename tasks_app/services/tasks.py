"""An escalation task's life: created (then assigned and timed through `task/created`), acknowledged, resolved,
cancelled or reassigned. Every move locks the task and emits its event."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from care_events.choices import Severity
from care_events.models import AgentInteraction, Episode
from care_events.platform.bus.dispatch import Actor, actor_id, emit
from care_events.platform.bus.models import TimerKind
from care_events.platform.bus.timers import timers_cancel
from care_events.platform.errors import ApplicationError, ConflictError
from tasks_app.models import ActionType, EscalationTask, Nurse, Priority, ResolutionOutcome, TaskStatus
from tasks_app.services.acknowledgement import ACK_TIMERS, ack_timers_cancel
from tasks_app.services.assignment import nurse_unavailable_reason, task_assign, task_hand_over
from tasks_app.services.nurses import care_team_for


class TaskStateError(ConflictError):
    """The task cannot make this move from its current status (409 `conflict`)."""


# Severity → (SLA minutes, priority, action): the product's clinical defaults (docs/events.md#sla). CRITICAL findings
# also tell the patient to seek emergency care: the task is the follow-up.
SEVERITY_DEFAULTS: dict[str, tuple[int, str, str]] = {
    Severity.CRITICAL: (30, Priority.URGENT, ActionType.EMERGENCY_GUIDANCE),
    Severity.HIGH: (120, Priority.HIGH, ActionType.NURSE_CALLBACK_2H),
    Severity.MODERATE: (480, Priority.NORMAL, ActionType.NURSE_CALLBACK_24H),
    Severity.LOW: (1440, Priority.LOW, ActionType.NURSE_CALLBACK_24H),
}
# An action that names its deadline keeps it: a LOW finding with "callback within 2 h" is due in 2 h, not 24.
ACTION_SLA_MINUTES: dict[str, int] = {ActionType.NURSE_CALLBACK_2H: 120, ActionType.NURSE_CALLBACK_24H: 24 * 60}
SLA_TIMERS = (TimerKind.SLA_WARNING, TimerKind.SLA_BREACH)


def task_sla_and_priority(*, severity: str, action_type: str) -> tuple[int, str]:
    """What the product sets, never a caller: the severity's SLA, shortened to the action's own deadline, and never
    under MIN_TASK_SLA_MINUTES; the severity's priority, URGENT for an urgent hand-off."""
    severity_sla, priority, _ = SEVERITY_DEFAULTS[severity]
    sla = min(severity_sla, ACTION_SLA_MINUTES.get(action_type, severity_sla))
    if action_type == ActionType.URGENT_HANDOFF:
        priority = Priority.URGENT
    return max(sla, settings.MIN_TASK_SLA_MINUTES), priority


@transaction.atomic
def task_create(
    *,
    episode: Episode,
    severity: str,
    reason_codes: list[str],
    action_type: str | None = None,
    interaction: AgentInteraction | None = None,
    source_key: str | None = None,
    sla_minutes: int | None = None,
) -> EscalationTask:
    """Create an escalation task; its save emits `task/created` (tasks_app/signals.py), which assigns it and
    starts its SLA timers. With a `source_key`, creating twice returns the first task.

    The SLA and priority are the product's (`task_sla_and_priority`). `sla_minutes` is for the product's own code
    alone (`manage.py demo` shows a breach on a one-minute task); the API never passes it."""
    if source_key is not None:
        existing = EscalationTask.objects.filter(source_key=source_key).first()
        if existing is not None:
            return existing
    action_type = action_type or SEVERITY_DEFAULTS[severity][2]
    product_sla, priority = task_sla_and_priority(severity=severity, action_type=action_type)
    sla_minutes = sla_minutes or product_sla
    now = timezone.now()
    task = EscalationTask(
        episode=episode,
        patient_id=episode.patient_id,
        interaction=interaction,
        care_team=care_team_for(episode.facility),
        severity=severity,
        reason_codes=reason_codes,
        action_type=action_type,
        priority=priority,
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
def task_acknowledge(*, task: EscalationTask, nurse: Nurse | None, actor: Actor = None) -> EscalationTask:
    """The assignee (or staff acting for her, nurse=None) acknowledges: ASSIGNED → ACKNOWLEDGED. The event names
    the assignee (`nurse_id`) and, as its actor, whoever acted."""
    task = _lock_open_task(task)
    if task.status == EscalationTask.Status.ACKNOWLEDGED:
        return task
    if task.status != EscalationTask.Status.ASSIGNED:
        raise TaskStateError("Only an assigned task can be acknowledged.")
    if nurse is not None and task.assigned_to_id != nurse.pk:
        raise TaskStateError("Only the assignee can acknowledge this task.")
    task.status, task.acknowledged_at = EscalationTask.Status.ACKNOWLEDGED, timezone.now()
    task.save(update_fields=["status", "acknowledged_at", "updated_at"])
    ack_timers_cancel(task_id=task.pk)  # nobody chases an acknowledged task (docs/handover.md)
    emit(
        "task/acknowledged",
        {"task_id": task.pk, "nurse_id": task.assigned_to_id},
        once_for=(task.pk,),
        actor=actor_id(actor),
    )
    return task


@transaction.atomic
def task_resolve(
    *, task: EscalationTask, resolution: str = "", outcome: ResolutionOutcome | None = None, actor: Actor = None
) -> EscalationTask:
    """The nurse acted: the open task is RESOLVED with what was done, a structured `outcome` (reporting counts them),
    free text, or both; one of the two at least."""
    resolution = resolution.strip()
    if outcome is None and not resolution:
        raise ApplicationError(
            "Choose an outcome or write what was done.", fields={"resolution": ["Choose an outcome or write a note."]}
        )
    if outcome is not None and not outcome.is_active:
        raise ApplicationError("This outcome is no longer offered.", fields={"outcome": ["No longer offered."]})
    task = _close(
        task, status=EscalationTask.Status.RESOLVED, resolution=resolution, event_name="task/resolved", actor=actor
    )
    if outcome is not None:
        task.resolution_outcome = outcome
        task.save(update_fields=["resolution_outcome", "updated_at"])
    return task


@transaction.atomic
def task_cancel(*, task: EscalationTask, reason: str, actor: Actor = None) -> EscalationTask:
    """Staff withdraw an open task that needs no action (a duplicate, a patient readmitted)."""
    return _close(
        task, status=EscalationTask.Status.CANCELLED, resolution=reason, event_name="task/cancelled", actor=actor
    )


def _close(
    task: EscalationTask, *, status: TaskStatus, resolution: str, event_name: str, actor: Actor
) -> EscalationTask:
    """An open task ends: its SLA timers are cancelled (a state change: they then never fire, and nobody is
    alerted about it again) and its event is emitted."""
    task = _lock_open_task(task)
    closed_at = "resolved_at" if status == EscalationTask.Status.RESOLVED else "cancelled_at"
    task.status, task.resolution = status, resolution
    setattr(task, closed_at, timezone.now())
    task.save(update_fields=["status", closed_at, "resolution", "updated_at"])
    timers_cancel(subject_id=task.pk, kinds=(*SLA_TIMERS, *ACK_TIMERS))
    emit(
        event_name,
        {"task_id": task.pk},
        once_for=(task.pk,),
        actor=actor_id(actor),
    )
    return task


class OverLimitError(TaskStateError):
    """The named nurse is at her limit: a charge nurse may confirm and assign over it (`allow_over_limit=True`)."""


@transaction.atomic
def task_reassign(
    *, task: EscalationTask, nurse: Nurse | None, actor: Actor = None, allow_over_limit: bool = False
) -> EscalationTask:
    """Staff move an open task to `nurse` (active, on shift now and under her limit, or TaskStateError says
    which is not so), or (nurse=None) back to round-robin among the other nurses on shift. The SLA deadlines stay
    those of the task's creation.

    `allow_over_limit`: a charge nurse confirmed it, so a nurse at her limit takes it; off shift and inactive are
    still refused (OverLimitError, without it, is the refusal she can confirm).

    The acknowledgement does not carry over (docs/handover.md): an acknowledgement is its nurse's own "I am on
    it", so a reassigned task is ASSIGNED again and waits for its new nurse to acknowledge, as an on-call tool's
    reassigned incident is unacknowledged for its new responder. The event log keeps who had acknowledged it."""
    task = _lock_open_task(task)
    previous = task.assigned_to_id
    if nurse is not None:
        nurse = Nurse.objects.select_for_update(no_key=True).get(pk=nurse.pk)
        if nurse.pk == previous:
            return task
        now = timezone.now()
        refused = nurse_unavailable_reason(nurse=nurse, now=now, allow_over_limit=True)
        if refused is not None:
            raise TaskStateError(refused)
        at_limit = nurse_unavailable_reason(nurse=nurse, now=now)
        if at_limit is not None and not allow_over_limit:
            raise OverLimitError(f"{at_limit} Confirm to give it to her over her limit.")
    # Unacknowledged on purpose (the rule above), not as a side effect: the new holder acknowledges herself.
    task.status, task.assigned_to, task.assigned_at, task.acknowledged_at = (
        EscalationTask.Status.OPEN,
        None,
        None,
        None,
    )
    task.save(update_fields=["status", "assigned_to", "assigned_at", "acknowledged_at", "updated_at"])
    if nurse is None:
        task_assign(task_id=task.pk, exclude_nurse_id=previous, actor=actor)
    else:
        task_hand_over(task=task, nurse=nurse, previous_id=previous, actor=actor)
    task.refresh_from_db()
    return task
