"""Writes of tasks_app: nurses' logins, escalation tasks, round-robin assignment, SLA timers."""

import datetime as dt
import logging
import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from care_events.events import emit
from care_events.models import AgentInteraction, Episode, Event, Severity, Timer, TimerKind
from care_events.notify import notify
from care_events.services import interaction_escalate
from care_events.timers import timer_schedule, timers_cancel
from tasks_app.models import ActionType, EscalationTask, Nurse, NurseShift, Priority

logger = logging.getLogger(__name__)


class TaskStateError(Exception):
    """The task cannot make this move from its current status (the API answers 409)."""


# Severity → (SLA minutes, priority, action). An explicit sla_minutes / priority / action_type on a flag wins.
# DOMAIN.md's defaults; CRITICAL findings also tell the patient to seek emergency care: the task is follow-up.
SEVERITY_DEFAULTS: dict[str, tuple[int, str, str]] = {
    Severity.CRITICAL: (30, Priority.URGENT, ActionType.EMERGENCY_GUIDANCE),
    Severity.HIGH: (120, Priority.HIGH, ActionType.NURSE_CALLBACK_2H),
    Severity.MODERATE: (480, Priority.NORMAL, ActionType.NURSE_CALLBACK_24H),
    Severity.LOW: (1440, Priority.LOW, ActionType.NURSE_CALLBACK_24H),
}
URGENT_ACTIONS = (ActionType.URGENT_HANDOFF, ActionType.EMERGENCY_GUIDANCE)
OPEN = EscalationTask.OPEN_STATUSES


def nurse_user_save(*, nurse: Nurse | None, first_name: str, last_name: str, email: str) -> User:
    """Create or update the user a nurse logs in with (username = email; no usable password at first)."""
    user = nurse.user if nurse is not None and nurse.user_id else get_user_model()()
    if user.pk is None:
        user.set_unusable_password()
    user.username, user.email = email.lower(), email
    user.first_name, user.last_name = first_name, last_name
    user.full_clean(exclude=["password"])
    user.save()
    return user


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


def _is_urgent(task: EscalationTask) -> bool:
    return task.severity == Severity.CRITICAL or task.action_type in URGENT_ACTIONS


def _available_nurses(now: dt.datetime, exclude_id: int | None):
    open_tasks = (
        EscalationTask.objects.filter(assigned_to=OuterRef("pk"), status__in=OPEN)
        .order_by()
        .values("assigned_to")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Nurse.objects.filter(is_active=True, shifts__starts_at__lte=now, shifts__ends_at__gt=now)
        .annotate(open_count=Coalesce(Subquery(open_tasks), 0))
        .filter(open_count__lt=F("max_open_tasks"))
        .exclude(pk__in=[exclude_id] if exclude_id is not None else [])
        .order_by(F("last_assigned_at").asc(nulls_first=True), "pk")
    )


# Any constant: the key of the PostgreSQL advisory lock that serializes the choice of the next nurse.
ROUND_ROBIN_LOCK = 0x5E9_0A55


def _lock_next_nurse(now: dt.datetime, exclude_id: int | None = None) -> Nurse | None:
    """The nurse on shift with room whose last assignment is oldest, locked for this transaction; None only when
    nobody on shift has room.

    Choosing is serialized by a transaction-level advisory lock, held until the assignment commits: each choice
    reads the line after the previous assignment committed, so two workers never hand out the same turn and the
    spread between nurses stays at most one. (Optimistic choosing with SKIP LOCKED alone was measured to drift:
    a nurse locked by a concurrent transaction that did not assign her lost her turn.) The rest of the
    assignment, the notifications and the SLA timers still run in parallel. The nurse row itself is locked with
    SKIP LOCKED: a nurse another writer holds right now (a staff reassignment, an admin edit) is passed over
    rather than waited for, unless every candidate is held.

    The lock is FOR NO KEY UPDATE (`no_key=True`), not FOR UPDATE: every insert or update of a row pointing at a
    nurse (her notification log, a task's assignee) takes FOR KEY SHARE on her row until it commits, and FOR
    UPDATE SKIP LOCKED would pass her over for that, losing her turn (measured: a spread of 2 in 200 tasks).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROUND_ROBIN_LOCK])
    candidates = list(_available_nurses(now, exclude_id)[:50])
    for candidate in candidates:
        nurse = Nurse.objects.select_for_update(skip_locked=True, no_key=True).filter(pk=candidate.pk).first()
        if nurse is not None:
            return nurse
    if candidates:
        return Nurse.objects.select_for_update(no_key=True).get(pk=candidates[0].pk)
    return None


@transaction.atomic
def task_assign(*, task_id: uuid.UUID | str, exclude_nurse_id: int | None = None) -> Nurse | None:
    """Round-robin: give an OPEN task to the next nurse on shift. A task with an assignee is never reassigned
    here, so a redelivered `task/created` changes nothing. Nobody available: the task stays OPEN, supervisors
    are alerted once, and the Beat sweep tries again every minute (a new shift picks it up)."""
    task = EscalationTask.objects.select_for_update().get(pk=task_id)
    if task.status != EscalationTask.Status.OPEN or task.assigned_to_id is not None:
        return None
    nurse = _lock_next_nurse(timezone.now(), exclude_nurse_id)
    if nurse is None:
        _alert_unassigned(task)
        return None
    # The time of the assignment is taken once the nurse is locked, so last_assigned_at follows commit order.
    _assign_to(task, nurse, now=timezone.now(), previous_id=exclude_nurse_id)
    return nurse


def _assign_to(task: EscalationTask, nurse: Nurse, *, now: dt.datetime, previous_id: int | None) -> None:
    """Hand a locked task to a locked nurse: task, nurse and shift counter change together, then the events."""
    task.status, task.assigned_to, task.assigned_at = EscalationTask.Status.ASSIGNED, nurse, now
    task.save(update_fields=["status", "assigned_to", "assigned_at", "updated_at"])
    Nurse.objects.filter(pk=nurse.pk).update(last_assigned_at=now)
    NurseShift.objects.filter(nurse=nurse, starts_at__lte=now, ends_at__gt=now).update(
        tasks_assigned=F("tasks_assigned") + 1
    )
    # One assignment = the task, the nurse and the moment: keys that repeat only if this very write repeats.
    key = f"{task.pk}:{nurse.pk}:{now.isoformat()}"
    if previous_id is None:
        emit("task/assigned", {"task_id": task.pk, "nurse_id": nurse.pk}, idempotency_key=f"assigned:{key}")
        notification_type = "URGENT_HANDOFF" if task.action_type == ActionType.URGENT_HANDOFF else "TASK_ASSIGNED"
    else:
        emit(
            "task/reassigned",
            {"task_id": task.pk, "from_nurse_id": previous_id, "to_nurse_id": nurse.pk},
            idempotency_key=f"reassigned:{key}",
        )
        notification_type = "TASK_REASSIGNED"
    notify(
        notification_type=notification_type,
        recipient_nurse_id=nurse.pk,
        task_id=task.pk,
        episode_id=task.episode_id,
        urgent=_is_urgent(task),
        dedupe_key=f"assigned:{key}",
    )
    logger.info("task %s assigned to nurse %s", task.pk, nurse.pk)


def supervisors() -> list[Nurse]:
    return list(Nurse.objects.filter(is_active=True, is_supervisor=True).order_by("pk"))


def _alert_unassigned(task: EscalationTask) -> None:
    chiefs = supervisors()
    if not chiefs:
        logger.error("task %s: no nurse on shift has room and no supervisor is configured", task.pk)
    for chief in chiefs:
        notify(
            notification_type="TASK_UNASSIGNED",
            recipient_nurse_id=chief.pk,
            task_id=task.pk,
            episode_id=task.episode_id,
            urgent=True,
            dedupe_key=f"unassigned:{task.pk}:{chief.pk}",
        )


def tasks_assign_waiting(*, older_than: dt.timedelta = dt.timedelta(seconds=30)) -> int:
    """The assignment sweep: try again for every task still OPEN (nobody was on shift when it came)."""
    waiting = EscalationTask.objects.filter(
        status=EscalationTask.Status.OPEN, assigned_to=None, created_at__lte=timezone.now() - older_than
    ).values_list("pk", flat=True)
    return sum(task_assign(task_id=task_id) is not None for task_id in waiting)


def sla_timers_schedule(*, task_id: str) -> None:
    task = EscalationTask.objects.get(pk=task_id)
    if task.is_open:
        timer_schedule(kind=TimerKind.SLA_WARNING, subject_id=task.pk, due_at=task.sla_warning_at)
        timer_schedule(kind=TimerKind.SLA_BREACH, subject_id=task.pk, due_at=task.sla_breach_at)


def sla_stage_reached(*, timer: Timer) -> None:
    """A task's SLA timer fired: if the task is still open, emit the warning or the breach."""
    task = EscalationTask.objects.get(pk=timer.subject_id)
    if not task.is_open:
        return
    name = "task/sla_warning" if timer.kind == TimerKind.SLA_WARNING else "task/sla_breach"
    emit(name, {"task_id": task.pk}, idempotency_key=f"{name}:{task.pk}")


def sla_notify(*, event: Event) -> None:
    """The warning goes to the assignee; the breach to the assignee and every supervisor, urgently.
    A task nobody holds sends both to the supervisors."""
    task = EscalationTask.objects.get(pk=event.data["task_id"])
    if not task.is_open:
        return
    breach = event.name == "task/sla_breach"
    recipients = {nurse.pk for nurse in supervisors()} if breach or task.assigned_to_id is None else set()
    if task.assigned_to_id is not None:
        recipients.add(task.assigned_to_id)
    stage = "SLA_BREACH" if breach else "SLA_WARNING"
    if not recipients:
        logger.error("task %s reached %s with no one to alert: no assignee and no supervisor", task.pk, stage)
    for nurse_id in sorted(recipients):
        notify(
            notification_type=stage,
            recipient_nurse_id=nurse_id,
            task_id=task.pk,
            episode_id=task.episode_id,
            urgent=breach,
            dedupe_key=f"{stage.lower()}:{task.pk}:{nurse_id}",
        )


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
    """Resolve an open task and cancel its SLA timers (a state change: the timers then never fire)."""
    task = _lock_open_task(task)
    task.status, task.resolved_at, task.resolution = (
        EscalationTask.Status.RESOLVED,
        timezone.now(),
        resolution,
    )
    task.save(update_fields=["status", "resolved_at", "resolution", "updated_at"])
    timers_cancel(subject_id=task.pk, kinds=[TimerKind.SLA_WARNING, TimerKind.SLA_BREACH])
    emit("task/resolved", {"task_id": task.pk}, idempotency_key=f"resolved:{task.pk}")
    return task


@transaction.atomic
def task_cancel(*, task: EscalationTask, reason: str = "") -> EscalationTask:
    task = _lock_open_task(task)
    task.status, task.cancelled_at, task.resolution = EscalationTask.Status.CANCELLED, timezone.now(), reason
    task.save(update_fields=["status", "cancelled_at", "resolution", "updated_at"])
    timers_cancel(subject_id=task.pk, kinds=[TimerKind.SLA_WARNING, TimerKind.SLA_BREACH])
    emit("task/cancelled", {"task_id": task.pk}, idempotency_key=f"cancelled:{task.pk}")
    return task


@transaction.atomic
def task_reassign(*, task: EscalationTask, nurse: Nurse | None) -> EscalationTask:
    """Staff move an open task to `nurse`, or (nurse=None) back to round-robin among the other nurses on
    shift. The SLA deadlines stay those of the task's creation."""
    task = _lock_open_task(task)
    previous = task.assigned_to_id
    if nurse is not None:
        nurse = Nurse.objects.select_for_update(no_key=True).get(pk=nurse.pk)
        if not nurse.is_active:
            raise TaskStateError("That nurse is not active.")
        if nurse.pk == previous:
            return task
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
        _assign_to(task, nurse, now=timezone.now(), previous_id=previous)
    task.refresh_from_db()
    return task


@transaction.atomic
def interaction_flag_raise(
    *,
    interaction: AgentInteraction,
    severity: str,
    reason_codes: list[str],
    action_type: str,
    priority: str | None = None,
    sla_minutes: int | None = None,
) -> EscalationTask:
    """The agent raises a flag: a task for this interaction (assigned and timed through `task/created`), and the
    interaction is marked escalated. No dedupe key: two flags are two findings (a retried request is
    deduplicated by the API's Idempotency-Key)."""
    task = task_create(
        episode=interaction.episode,
        interaction=interaction,
        severity=severity,
        reason_codes=reason_codes,
        action_type=action_type,
        priority=priority,
        sla_minutes=sla_minutes,
    )
    interaction_escalate(interaction_id=interaction.pk, task_id=task.pk, severity=task.severity)
    return task


@transaction.atomic
def interaction_handoff(
    *, interaction: AgentInteraction, reason: str, severity: str = Severity.CRITICAL
) -> EscalationTask:
    """The agent hands the patient to a nurse now: an URGENT_HANDOFF task of URGENT priority, CRITICAL unless
    the agent grades it otherwise, with the severity's SLA (30 min for CRITICAL). Its assignment notifies the
    nurse with an URGENT_HANDOFF message on the urgent queue. `reason` is a reason code."""
    return interaction_flag_raise(
        interaction=interaction,
        severity=severity,
        reason_codes=[reason],
        action_type=ActionType.URGENT_HANDOFF,
        priority=Priority.URGENT,
    )
