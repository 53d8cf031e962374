"""Acknowledgement: the code a nurse replies to her alert with, the signed token behind a push alert's button, and
the two timers that chase an assignment nobody acknowledges (docs/handover.md#acknowledgement).

Every assignment (first, round-robin again, by staff, a hand-over) arms both timers of the task from its moment:
ACK_REMINDER after ACK_REMIND_AFTER_MINUTES of its severity (the alert again, on her next channel), ACK_ESCALATION
ACK_ESCALATE_AFTER_MINUTES after that (tasks_app.services.handover: the task goes to the next nurse on shift, the
charge nurse is told). One timer row per kind and task, re-armed at each assignment, so a task never has two
reminders running; the acknowledgement cancels them, and a timer that fires for a task no longer waiting for its
acknowledgement does nothing.
"""

import datetime as dt
import logging
import re
import secrets
import uuid

from django.conf import settings
from django.core import signing
from django.db import transaction

from care_events.choices import NotificationType
from care_events.notify import notification_request
from care_events.platform.bus.models import TimerKind
from care_events.platform.bus.timers import timers_cancel, timers_restart
from tasks_app.models import OPEN_TASK_STATUSES, EscalationTask, Nurse, TaskStatus
from tasks_app.notify import ack_reminder_key

logger = logging.getLogger(__name__)

ACK_TIMERS = (TimerKind.ACK_REMINDER, TimerKind.ACK_ESCALATION)
ACK_CODE_DIGITS = 4
# "ACK 4821", "ack4821", "Ack #4821"; or a bare "1" (or "ACK" alone): her only task waiting for it.
ACK_REPLY = re.compile(r"^\s*(?:ACK\s*#?\s*(?P<code>\d{1,8})|(?P<one>1|ACK))\s*[.!]?\s*$", re.IGNORECASE)
TOKEN_SALT = "tasks_app.acknowledge-from-alert"  # noqa: S105 - a signing salt, not a secret


def ack_delays(severity: str) -> tuple[dt.timedelta, dt.timedelta] | None:
    """(until the reminder, from the reminder until the escalation) for a task of `severity`; None: not chased."""
    remind = settings.ACK_REMIND_AFTER_MINUTES.get(severity)
    if remind is None:
        return None
    escalate = settings.ACK_ESCALATE_AFTER_MINUTES.get(severity, remind)
    return dt.timedelta(minutes=remind), dt.timedelta(minutes=escalate)


def ack_code_draw() -> str:
    """A code for an assignment, drawn at random. The assignment writes it only where no other open task of the
    nurse holds it (tasks_app.services.assignment: a draw that collides, about 1 in 1,000 with ten open tasks,
    writes nothing and another is drawn), with her row locked, so two assignments to her cannot pick the same one."""
    return f"{secrets.randbelow(10**ACK_CODE_DIGITS):0{ACK_CODE_DIGITS}d}"


def ack_timers_arm(*, task: EscalationTask) -> None:
    """Start (or restart) the task's two acknowledgement timers from its assignment, in the assigning transaction."""
    delays = ack_delays(task.severity)
    if delays is None or task.assigned_at is None:
        timers_cancel(subject_id=task.pk, kinds=ACK_TIMERS)
        return
    remind, escalate = delays
    timers_restart(
        subject_id=task.pk,
        due=[
            (TimerKind.ACK_REMINDER, task.assigned_at + remind),
            (TimerKind.ACK_ESCALATION, task.assigned_at + remind + escalate),
        ],
    )


def ack_timers_cancel(*, task_id: uuid.UUID) -> None:
    timers_cancel(subject_id=task_id, kinds=ACK_TIMERS)


def waiting_for_ack(task: EscalationTask) -> bool:
    """Assigned, not yet acknowledged: what both timers chase."""
    return task.status == TaskStatus.ASSIGNED and task.assigned_to_id is not None and task.assigned_at is not None


def ack_reminder_send(*, task_id: uuid.UUID) -> None:
    """The first interval is over (inside the firing transaction): the alert again, to the assignee on the next
    channel of her chain (notifications picks it), once per assignment."""
    task = EscalationTask.objects.get(pk=task_id)
    if not waiting_for_ack(task):
        return
    assert task.assigned_to_id is not None and task.assigned_at is not None  # waiting_for_ack
    notification_request(
        notification_type=NotificationType.ACK_REMINDER,
        recipient_nurse_id=task.assigned_to_id,
        task_id=task.pk,
        episode_id=task.episode_id,
        urgent=True,
        dedupe_key=ack_reminder_key(task_id=task.pk, nurse_id=task.assigned_to_id, assigned_at=task.assigned_at),
    )
    logger.info("task %s not acknowledged: reminder to nurse %s", task.pk, task.assigned_to_id)


# --- Acknowledging from the alert -------------------------------------------------------------------------------


def task_for_ack_reply(*, nurses: list[Nurse], text: str) -> EscalationTask | None:
    """The task a nurse's SMS reply acknowledges: "ACK <code>" names one of her open tasks by its code; "1" (or
    "ACK") her only task waiting for acknowledgement. None when the text is no acknowledgement or names nothing."""
    match = ACK_REPLY.match(text)
    if match is None or not nurses:
        return None
    waiting = EscalationTask.objects.filter(assigned_to__in=nurses, status__in=OPEN_TASK_STATUSES)
    if match.group("code"):
        found = list(waiting.filter(ack_code=match.group("code"))[:2])
    else:
        found = list(waiting.filter(status=TaskStatus.ASSIGNED)[:2])
    return found[0] if len(found) == 1 else None


def is_ack_reply(text: str) -> bool:
    return ACK_REPLY.match(text) is not None


def ack_token_make(*, task: EscalationTask, nurse: Nurse) -> str:
    """A signed token that acknowledges this task as this nurse, for this assignment only (its moment is in it),
    until ACK_TOKEN_MAX_AGE_SECONDS: the push alert's button posts it (the service worker has no session)."""
    assert task.assigned_at is not None
    value = {"task": str(task.pk), "nurse": nurse.pk, "at": task.assigned_at.isoformat()}
    return signing.dumps(value, salt=TOKEN_SALT, compress=True)


class AckTokenError(Exception):
    """The token is not ours, has expired, or no longer names the task's current assignment."""


@transaction.atomic
def ack_token_use(*, token: str) -> tuple[EscalationTask, Nurse]:
    """The task and nurse a valid token names, the task locked; the caller acknowledges. Refused when the task has
    changed hands since (another assignment, another moment) or is closed: a token works for one assignment, and
    acknowledging is done once (a second use changes nothing)."""
    try:
        value = signing.loads(token, salt=TOKEN_SALT, max_age=settings.ACK_TOKEN_MAX_AGE_SECONDS)
        task_id, nurse_id, at = uuid.UUID(value["task"]), int(value["nurse"]), str(value["at"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise AckTokenError("invalid or expired token") from None
    task = EscalationTask.objects.select_for_update().filter(pk=task_id).first()
    if (
        task is None
        or not task.is_open
        or task.assigned_to_id != nurse_id
        or task.assigned_at is None
        or task.assigned_at.isoformat() != at
    ):
        raise AckTokenError("the task is no longer this nurse's assignment")
    return task, Nurse.objects.select_related("user").get(pk=nurse_id)
