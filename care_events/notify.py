"""Asking for a message: `notification_request` emits `notification/send`, which the notifications app turns into a
NotificationLog and delivers. It is the one place that builds that event's payload.

Every message has a dedupe key naming the logical message: asking twice with one key sends once (the key is unique
on NotificationLog). The app whose message it is spells its keys, one function per kind of message: the care
domain's below (`checkin_key`), the escalation tasks' in tasks_app/notify.py.
"""

import uuid
from collections.abc import Mapping

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
    rows: Mapping[str, object] | None = None,
) -> Event:
    """Ask for one message, in the caller's transaction (its row is written there, by an inline handler). `rows`:
    rows the caller holds, by payload field ("task_id": the task, "recipient_nurse_id": the nurse), so that they are
    not read again."""
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
        once_for=(dedupe_key,),
        rows=rows,
    )


def checkin_key(*, attempt_id: uuid.UUID) -> str:
    """CHECKIN: one text per check-in attempt."""
    return f"checkin:{attempt_id}"
