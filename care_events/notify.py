"""Asking for a notification is emitting `notification/send`; this is the one place that builds its payload."""

import uuid

from care_events.events import emit
from care_events.models import Event


def notify(
    *,
    notification_type: str,
    dedupe_key: str,
    recipient_nurse_id: int | None = None,
    recipient_patient_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
    urgent: bool = False,
) -> Event:
    """`dedupe_key` names the logical message (e.g. "sla-breach:<task>:<nurse>"): asking twice sends once."""
    return emit(
        "notification/send",
        {
            "notification_type": notification_type,
            "recipient_nurse_id": recipient_nurse_id,
            "recipient_patient_id": recipient_patient_id,
            "task_id": task_id,
            "episode_id": episode_id,
            "urgent": urgent,
        },
        idempotency_key=f"notify:{dedupe_key}",
    )
