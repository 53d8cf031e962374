"""Round-robin assignment: a task goes to the nurse on shift with room whose last assignment is oldest."""

import datetime as dt
import logging
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from care_events.choices import NotificationType, Severity
from care_events.notify import notification_request
from care_events.platform.bus.dispatch import Actor, actor_id, emit
from care_events.platform.sql import columns, fetch_instance, prepared_cursor
from tasks_app.care_team import shift_window_label
from tasks_app.models import (
    OPEN_TASK_STATUSES,
    ActionType,
    EscalationTask,
    HandOverReason,
    Nurse,
    NurseShift,
)
from tasks_app.notify import assignment_key, unassigned_key
from tasks_app.selectors import unassigned_cause
from tasks_app.services.acknowledgement import ack_code_draw, ack_timers_arm
from tasks_app.services.nurses import supervisors

logger = logging.getLogger(__name__)

# Their assignment message goes on the urgent queue.
URGENT_ACTIONS = (ActionType.URGENT_HANDOFF, ActionType.EMERGENCY_GUIDANCE)
# Any 32-bit constant: with the care team's hash, the key of the PostgreSQL advisory lock that serializes the
# choice of the next nurse within one team (teams assign in parallel).
ROUND_ROBIN_LOCK = 0x5E9_0A55


# The task row locked, written once as SQL and prepared (care_events.platform.sql): the ORM's compile of
# `select_for_update().get()` cost more than the statement's round trip, at every assignment.
_TASK_LOCK = (
    f"SELECT {columns(EscalationTask, 't')} FROM {EscalationTask._meta.db_table} t"  # noqa: S608 - our own names
    " WHERE t.id = %s FOR UPDATE"
)


# No savepoint when called inside a transaction (the handler run's, a reassignment's): a failure is the caller's.
@transaction.atomic(savepoint=False)
def task_assign(*, task_id: uuid.UUID, exclude_nurse_id: int | None = None, actor: Actor = None) -> Nurse | None:
    """Round-robin: give an OPEN task to the next nurse on shift. A task with an assignee is never reassigned
    here, so a redelivered `task/created` changes nothing. Nobody available: the task stays OPEN, supervisors
    are alerted once, and the Beat sweep tries again every minute (a new shift picks it up)."""
    task = fetch_instance(EscalationTask, _TASK_LOCK, [task_id])
    if task is None:
        raise EscalationTask.DoesNotExist(f"task {task_id}")
    if task.status != EscalationTask.Status.OPEN or task.assigned_to_id is not None:
        return None
    nurse = _lock_next_nurse(timezone.now(), task.care_team, exclude_nurse_id)
    if nurse is None:
        _alert_unassigned(task)
        return None
    task_hand_over(task=task, nurse=nurse, previous_id=exclude_nurse_id, actor=actor)
    return nurse


def tasks_assign_waiting(*, older_than: dt.timedelta = dt.timedelta(seconds=30)) -> int:
    """The assignment sweep: try again for every task still OPEN (nobody was on shift when it came)."""
    waiting = EscalationTask.objects.filter(
        status=EscalationTask.Status.OPEN, assigned_to=None, created_at__lte=timezone.now() - older_than
    ).values_list("pk", flat=True)
    return sum(task_assign(task_id=task_id) is not None for task_id in waiting)


def task_hand_over(
    *, task: EscalationTask, nurse: Nurse, previous_id: int | None, actor: Actor = None, reason: str = ""
) -> None:
    """Hand a locked task to a locked nurse: task, nurse and shift counter change together, with its new
    acknowledgement code and timers, then the event (a reassignment's names its `reason`, a HandOverReason: by
    default staff or round-robin) and the nurse's message. `previous_id`: the nurse it is taken from (a
    reassignment), or None (a first assignment); `actor`: the user who reassigned it (None: the system)."""
    # Taken once the nurse is locked, so last_assigned_at follows commit order.
    now = timezone.now()
    reason = reason or (HandOverReason.STAFF if actor_id(actor) is not None else HandOverReason.ROUND_ROBIN)
    task.status, task.assigned_to, task.assigned_at = EscalationTask.Status.ASSIGNED, nurse, now
    task.acknowledged_at = None
    _assignment_write(task=task, nurse=nurse, now=now)
    ack_timers_arm(task=task)
    assignment = (task.pk, nurse.pk, now)  # the fact both the event and the nurse's message are once for
    if previous_id is None:
        emit("task/assigned", {"task_id": task.pk, "nurse_id": nurse.pk}, once_for=assignment, actor=actor_id(actor))
        handoff = task.action_type == ActionType.URGENT_HANDOFF
        notification_type = NotificationType.URGENT_HANDOFF if handoff else NotificationType.TASK_ASSIGNED
    else:
        emit(
            "task/reassigned",
            {"task_id": task.pk, "from_nurse_id": previous_id, "to_nurse_id": nurse.pk, "reason": reason},
            once_for=assignment,
            actor=actor_id(actor),
        )
        notification_type = NotificationType.TASK_REASSIGNED
    notification_request(
        notification_type=notification_type,
        recipient_nurse_id=nurse.pk,
        task_id=task.pk,
        episode_id=task.episode_id,
        urgent=task.severity == Severity.CRITICAL or task.action_type in URGENT_ACTIONS,
        dedupe_key=assignment_key(task_id=task.pk, nurse_id=nurse.pk, assigned_at=now),
        rows={"task_id": task, "recipient_nurse_id": nurse},  # locked here: its row is written without reading them
    )
    logger.info("task %s assigned to nurse %s", task.pk, nurse.pk)


def _assignment_write_sql() -> str:
    """The assignment's writes as one statement, written once as SQL: the task (status, assignee, times) with its
    acknowledgement code, only where no other open task of the nurse holds the code; then, only if the task was
    written, her place in the round-robin (last_assigned_at) and her shift's counter. Its one row: whether the task
    was written."""
    task, nurse, shift = EscalationTask._meta.db_table, Nurse._meta.db_table, NurseShift._meta.db_table
    statuses = ", ".join(f"'{status}'" for status in OPEN_TASK_STATUSES)  # the model's own constants
    return (
        f"WITH task AS (UPDATE {task} SET ack_code = %(code)s, updated_at = %(now)s, status = %(status)s,"  # noqa: S608
        f" assigned_to_id = %(nurse)s, assigned_at = %(now)s, acknowledged_at = NULL"
        f" WHERE id = %(task)s AND NOT EXISTS (SELECT 1 FROM {task} h WHERE h.assigned_to_id = %(nurse)s"
        f" AND h.status IN ({statuses}) AND h.ack_code = %(code)s AND h.id <> %(task)s) RETURNING id),"
        f" nurse AS (UPDATE {nurse} SET last_assigned_at = %(now)s WHERE id = %(nurse)s"
        f" AND EXISTS (SELECT 1 FROM task) RETURNING id),"
        f" shift AS (UPDATE {shift} SET tasks_assigned = tasks_assigned + 1 WHERE nurse_id IN (SELECT id FROM nurse)"
        f" AND starts_at <= %(now)s AND ends_at > %(now)s)"
        f" SELECT count(*) FROM task"
    )


_ASSIGNMENT_WRITE = _assignment_write_sql()


def _assignment_write(*, task: EscalationTask, nurse: Nurse, now: dt.datetime) -> None:
    """Write the assignment the caller set on `task` (status ASSIGNED, `nurse`, assigned `now`, no acknowledgement) in
    one statement (`_assignment_write_sql`), with an acknowledgement code no other open task of hers holds: a draw
    that collides writes nothing, not even her turn, and another is drawn (`ack_code_draw`). Called with her row
    locked, so two assignments to her cannot pick the same code."""
    task.updated_at = now
    params: dict[str, Any] = {"task": task.pk, "nurse": nurse.pk, "now": now, "status": task.status}
    with prepared_cursor() as cursor:
        while True:
            code = ack_code_draw()
            cursor.execute(_ASSIGNMENT_WRITE, {**params, "code": code})
            if cursor.fetchone()[0]:
                task.ack_code = code
                return


def nurse_unavailable_reason(*, nurse: Nurse, now: dt.datetime, allow_over_limit: bool = False) -> str | None:
    """Why a task cannot be handed to `nurse` now, in words for the person choosing her (off shift, at her limit,
    inactive); None when she can take it. Round-robin never picks such a nurse; a named reassignment is refused.
    `allow_over_limit`: a charge nurse confirmed going over her limit, so only off shift and inactive remain."""
    if not nurse.is_active:
        return f"{nurse} is not active."
    if not NurseShift.objects.filter(nurse=nurse, starts_at__lte=now, ends_at__gt=now).exists():
        upcoming = NurseShift.objects.filter(nurse=nurse, starts_at__gt=now).order_by("starts_at").first()
        if upcoming is None:
            return f"{nurse} is not on shift now (no shift planned)."
        return f"{nurse} is not on shift now (next shift {shift_window_label(upcoming.starts_at, upcoming.ends_at)})."
    if allow_over_limit:
        return None
    open_count = EscalationTask.objects.filter(assigned_to=nurse, status__in=OPEN_TASK_STATUSES).count()
    if open_count >= nurse.max_open_tasks:
        return f"{nurse} already holds {open_count} open tasks (limit {nurse.max_open_tasks})."
    return None


def _next_nurse_sql(*, skip_locked: bool) -> str:
    """The turn's query, written once as SQL rather than built by the ORM at every assignment (its annotation and
    subquery were most of the assignment's Python time): the active nurses of the care team on shift now with fewer
    open tasks than their limit, oldest last assignment first, the first of them locked (only her row: no join to
    auth_user, so a login writing her user row never costs her the turn)."""
    nurse, shift, task = Nurse._meta.db_table, NurseShift._meta.db_table, EscalationTask._meta.db_table
    statuses = ", ".join(f"'{status}'" for status in OPEN_TASK_STATUSES)  # the model's own constants
    return (
        f"SELECT {columns(Nurse, 'n')} FROM {nurse} n"  # noqa: S608 - our own names
        f" WHERE n.is_active AND n.care_team = %(team)s AND n.id <> %(exclude)s"
        f" AND EXISTS (SELECT 1 FROM {shift} s WHERE s.nurse_id = n.id AND s.starts_at <= %(now)s"
        f" AND s.ends_at > %(now)s)"
        f" AND (SELECT count(*) FROM {task} t WHERE t.assigned_to_id = n.id AND t.status IN ({statuses}))"
        f" < n.max_open_tasks"
        f" ORDER BY n.last_assigned_at ASC NULLS FIRST, n.id LIMIT 1"
        f" FOR NO KEY UPDATE OF n{' SKIP LOCKED' if skip_locked else ''}"
    )


_NEXT_NURSE = {skip_locked: _next_nurse_sql(skip_locked=skip_locked) for skip_locked in (True, False)}


def _lock_next_nurse(now: dt.datetime, care_team: str, exclude_id: int | None = None) -> Nurse | None:
    """The nurse of the care team on shift with room whose last assignment is oldest, locked for this transaction;
    None only when nobody of the team on shift has room.

    Choosing is serialized per care team by a transaction-level advisory lock, held until the assignment commits
    (other teams take their own lock and assign in parallel): each choice
    reads the line after the previous assignment committed, so two workers never hand out the same turn and the
    spread between nurses stays at most one. (Optimistic choosing with SKIP LOCKED alone was measured to drift:
    a nurse locked by a concurrent transaction that did not assign her lost her turn.) The rest of the
    assignment, the notifications and the SLA timers still run in parallel. The nurse row itself is locked with
    SKIP LOCKED: a nurse another writer holds right now (a staff reassignment, an admin edit) is passed over
    rather than waited for, unless every candidate is held.

    The lock is FOR NO KEY UPDATE (`no_key=True`), not FOR UPDATE: every insert or update of a row pointing at a
    nurse (her notification log, a task's assignee) takes FOR KEY SHARE on her row until it commits, and FOR
    UPDATE SKIP LOCKED would pass her over for that, losing her turn (measured: a spread of 2 in 200 tasks).

    Only the nurse row is locked (`FOR NO KEY UPDATE OF n`, no join to auth_user): a lock that
    took her user row too would be skipped while that row is written, and a login writes it (last_login), so a
    nurse logging in at that moment would lose her turn.
    """
    with prepared_cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [ROUND_ROBIN_LOCK, care_team])
    params = {"team": care_team, "exclude": exclude_id if exclude_id is not None else -1, "now": now}
    # One statement: the first nurse in turn order that no other transaction holds, locked; if every candidate is
    # held, the first, waited for.
    for skip_locked in (True, False):
        nurse = fetch_instance(Nurse, _NEXT_NURSE[skip_locked], params)
        if nurse is not None:
            return nurse
    return None


def nurse_next_lock(*, care_team: str, exclude_id: int | None = None) -> Nurse | None:
    """The round-robin's next nurse of the team on shift now (not `exclude_id`), locked for the caller's transaction
    (`_lock_next_nurse`): for the services that move a task themselves (tasks_app.services.handover)."""
    return _lock_next_nurse(timezone.now(), care_team, exclude_id)


def task_unassigned_alert(*, task: EscalationTask) -> None:
    """The charge nurses' alert that nobody on shift can take `task`, once per task (`_alert_unassigned`)."""
    _alert_unassigned(task)


def _alert_unassigned(task: EscalationTask) -> None:
    """Tell the team's supervisors once per task. Their message says why nobody took it (nobody of the team on
    shift, or all of them at their limit): notifications/messages.py words it from `unassigned_cause` when it is
    sent, with the team's name and counts only (no PHI)."""
    chiefs = supervisors(task.care_team)
    cause = unassigned_cause(care_team=task.care_team, now=timezone.now())
    logger.info("task %s waits unassigned: %s", task.pk, cause.text)
    if not chiefs:
        logger.error("task %s: %s and no supervisor is configured", task.pk, cause.text)
    for chief in chiefs:
        notification_request(
            notification_type=NotificationType.TASK_UNASSIGNED,
            recipient_nurse_id=chief.pk,
            task_id=task.pk,
            episode_id=task.episode_id,
            urgent=True,
            dedupe_key=unassigned_key(task_id=task.pk, supervisor_id=chief.pk),
        )
