"""Asking for a message: `notification_request` emits `notification/send`, which the notifications app turns into a
NotificationLog and delivers. It is the one place that builds that event's payload.

Every message has a dedupe key naming the logical message: asking twice with one key sends once (the key is unique
on NotificationLog). The functions below are the only place a key is spelled, one per kind of message.
"""

import datetime as dt
import uuid

from care_events.choices import NotificationType
from care_events.platform.bus.dispatch import emit
from care_events.platform.bus.models import Event


def notification_request(
    *,
    notification_type: NotificationType,
    dedupe_key: str,
    recipient_nurse_id: int | None = None,
    recipient_patient_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
    urgent: bool = False,
) -> Event:
    return emit(
        "notification/send",
        {
            "notification_type": notification_type,
            "dedupe_key": dedupe_key,
            "recipient_nurse_id": recipient_nurse_id,
            "recipient_patient_id": recipient_patient_id,
            "task_id": task_id,
            "episode_id": episode_id,
            "urgent": urgent,
        },
        idempotency_key=f"notify:{dedupe_key}",
    )


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


def checkin_key(*, attempt_id: uuid.UUID) -> str:
    """CHECKIN: one text per check-in attempt."""
    return f"checkin:{attempt_id}"
