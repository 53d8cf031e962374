"""When an urgent nurse alert cannot reach her on one channel, the next channel of her chain is tried; staff can
re-send any failed message from admin. Either way a new row, linked to the one it replaces (`replaces`), so each
row is still sent at most once and the chain is visible in admin."""

import logging

from django.db import transaction

from care_events.choices import NotificationType, Severity
from notifications.models import NotificationLog, NotificationStatus
from notifications.services.channels import nurse_chain
from notifications.services.create import notification_row_create

logger = logging.getLogger(__name__)

# Alerts a nurse must not miss: an assignment of a HIGH or CRITICAL task, a hand-off, an SLA breach, a task nobody
# on shift could take.
ALWAYS_URGENT = (
    NotificationType.URGENT_HANDOFF,
    NotificationType.SLA_BREACH,
    NotificationType.TASK_UNASSIGNED,
    NotificationType.ACK_REMINDER,
    NotificationType.ACK_ESCALATED,
)
URGENT_IF_SEVERE = (NotificationType.TASK_ASSIGNED, NotificationType.TASK_REASSIGNED)


def is_urgent_alert(log: NotificationLog) -> bool:
    if log.recipient_nurse_id is None or log.task is None or not log.task.is_open:
        return False
    if log.type in ALWAYS_URGENT:
        return True
    return log.type in URGENT_IF_SEVERE and log.task.severity in (Severity.HIGH, Severity.CRITICAL)


def nurse_channel_chain(log: NotificationLog) -> list[str]:
    """The nurse's preferred channel, then her own fallback chain (or the default one), each channel once."""
    nurse = log.recipient_nurse
    assert nurse is not None
    return nurse_chain(nurse)


def replaced_rows(log: NotificationLog) -> list[NotificationLog]:
    """The rows `log` replaces, directly or through others, oldest first."""
    rows: list[NotificationLog] = []
    row = log.replaces
    while row is not None:
        rows.insert(0, row)
        row = row.replaces
    return rows


@transaction.atomic
def notification_fallback(*, log: NotificationLog) -> NotificationLog | None:
    """An urgent nurse alert failed (or has been failing for too long): the same alert on the next channel of her
    chain not tried yet for it. Once per failed row and channel (the dedupe key); None when there is nothing left
    to try or the alert is not urgent."""
    if not is_urgent_alert(log):
        return None
    tried = {log.channel, *(row.channel for row in replaced_rows(log))}
    channel = next((c for c in nurse_channel_chain(log) if c not in tried), None)
    if channel is None:
        logger.error("notification %s: every channel of the nurse's chain failed", log.pk)
        return None
    return _copy(log, channel=channel, dedupe_key=f"{log.dedupe_key}:fallback:{channel}")


@transaction.atomic
def notification_resend(*, log: NotificationLog) -> NotificationLog | None:
    """Staff re-send a failed message (admin): the same message on the same channel, as a new row. Re-sending it
    again finds that row."""
    if log.status != NotificationStatus.FAILED:
        return None
    return _copy(log, channel=log.channel, dedupe_key=f"{log.dedupe_key}:resend:{log.pk}")


def _copy(log: NotificationLog, *, channel: str, dedupe_key: str) -> NotificationLog:
    """The same message as a new row linked to `log`: its words rendered again for another channel, kept for the
    same one."""
    return notification_row_create(
        notification_type=log.type,
        dedupe_key=dedupe_key,
        channel=channel,
        recipient_nurse=log.recipient_nurse,
        recipient_patient=log.recipient_patient,
        task=log.task,
        episode=log.episode,
        urgent=log.urgent,
        deadline=log.deadline,
        whatsapp=log.whatsapp,
        replaces=log,
        words=None if channel != log.channel else (log.subject, log.body),
    )
