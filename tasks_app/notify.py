"""The dedupe keys of the messages about escalation tasks, one function per kind of message: the only place they
are spelled. A key names the logical message (asked twice with one key, it is sent once: the key is unique on
NotificationLog), so a key's value never changes once rows carry it. Messages are asked for with
care_events.notify.notification_request."""

import datetime as dt
import uuid

from care_events.choices import NotificationType


def assignment_key(*, task_id: uuid.UUID, nurse_id: int, assigned_at: dt.datetime) -> str:
    """TASK_ASSIGNED, URGENT_HANDOFF or TASK_REASSIGNED: one message per assignment (the task, the nurse, the
    moment), so a task given back to the same nurse later is a new message, and a repeated assignment is not."""
    return f"assigned:{task_id}:{nurse_id}:{assigned_at.isoformat()}"


def unassigned_key(*, task_id: uuid.UUID, supervisor_id: int) -> str:
    """TASK_UNASSIGNED: each supervisor hears once per task that nobody on shift could take."""
    return f"unassigned:{task_id}:{supervisor_id}"


def sla_key(*, stage: NotificationType, task_id: uuid.UUID, nurse_id: int) -> str:
    """SLA_WARNING or SLA_BREACH: once per stage, task and recipient."""
    return f"{stage.lower()}:{task_id}:{nurse_id}"


def ack_reminder_key(*, task_id: uuid.UUID, nurse_id: int, assigned_at: dt.datetime) -> str:
    """ACK_REMINDER: once per assignment that went unacknowledged (a later assignment to her is a new one)."""
    return f"ack-reminder:{task_id}:{nurse_id}:{assigned_at.isoformat()}"


def ack_escalated_key(*, task_id: uuid.UUID, supervisor_id: int, assigned_at: dt.datetime) -> str:
    """ACK_ESCALATED: each charge nurse hears once per assignment that was handed on unacknowledged."""
    return f"ack-escalated:{task_id}:{supervisor_id}:{assigned_at.isoformat()}"


def nurse_unreachable_key(*, task_id: uuid.UUID, supervisor_id: int, nurse_id: int, assigned_at: dt.datetime) -> str:
    """NURSE_UNREACHABLE: each charge nurse hears once per assignment whose nurse no urgent alert could reach."""
    return f"unreachable:{task_id}:{supervisor_id}:{nurse_id}:{assigned_at.isoformat()}"
