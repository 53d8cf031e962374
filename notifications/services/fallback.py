"""When an urgent nurse alert does not reach her on one channel, the next channel of her chain is tried; staff can
re-send any failed message from admin. Either way a new row, linked to the one it replaces (`replaces`), so each
row is still sent at most once and the chain is visible in admin (docs/notifications.md#fallback).

The next channel is tried when a row fails for good (the status path), or NOTIFICATION_FALLBACK_AFTER_SECONDS after
the row was written if nothing of its alert has gone out by then (the ALERT_FALLBACK timer, armed with the row:
the bus's durable timer, so at that time and not at the row's next retry). The row itself keeps retrying.
"""

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import transaction

from care_events.platform.bus.models import TimerKind
from care_events.platform.bus.timers import timer_schedule
from notifications.models import NotificationLog, NotificationStatus
from notifications.services.channels import next_channel, nurse_chain
from notifications.services.create import notification_row_create

logger = logging.getLogger(__name__)

# A row that has gone out: the provider took it (the `notification/delivered` event), or more.
REACHED = (NotificationStatus.SENT, NotificationStatus.DELIVERED, NotificationStatus.READ)


def is_urgent_alert(log: NotificationLog) -> bool:
    """An urgent nurse alert (its row's `urgent`, set at creation: notifications.services.create.alert_is_urgent)
    about a task still open."""
    return log.urgent and log.recipient_nurse_id is not None and log.task is not None and log.task.is_open


def replaced_rows(log: NotificationLog) -> list[NotificationLog]:
    """The rows `log` replaces, directly or through others, oldest first."""
    rows: list[NotificationLog] = []
    row = log.replaces
    while row is not None:
        rows.insert(0, row)
        row = row.replaces
    return rows


def alert_rows(root: NotificationLog) -> list[NotificationLog]:
    """Every row of `root`'s alert, oldest first: one query on `alert` (its chain)."""
    return list(NotificationLog.objects.filter(alert_id=root.alert_id).order_by("created_at", "pk"))


def alert_reached(log: NotificationLog) -> bool:
    """Whether any row of `log`'s alert has gone out."""
    return NotificationLog.objects.filter(alert_id=log.alert_id, status__in=REACHED).exists()


def fallback_timer_arm(log: NotificationLog) -> None:
    """In the transaction that writes a pending urgent alert's row: its ALERT_FALLBACK timer."""
    delay = dt.timedelta(seconds=settings.NOTIFICATION_FALLBACK_AFTER_SECONDS)
    timer_schedule(kind=TimerKind.ALERT_FALLBACK, subject_id=log.pk, due_at=log.created_at + delay)


def alert_fallback_due(*, notification_id: uuid.UUID) -> None:
    """The ALERT_FALLBACK timer (inside its firing transaction): the row is still pending, nothing of its alert has
    gone out and it has not been replaced yet → the same alert on the next channel. When every channel has been
    tried, nothing: the row keeps retrying, and the ALERT_UNREACHABLE timer tells the charge nurse."""
    log = NotificationLog.objects.select_related("recipient_nurse", "task", "replaces").filter(pk=notification_id)
    row = log.first()
    if row is None or row.status != NotificationStatus.PENDING or row.replaced_by.exists():
        return
    if not is_urgent_alert(row) or alert_reached(row):
        return
    channel = _next_channel(row)
    if channel is not None:
        _fall_back(row, channel)


@transaction.atomic
def notification_fallback(*, log: NotificationLog) -> NotificationLog | None:
    """An urgent nurse alert's row failed for good: the same alert on the next channel of her chain not tried yet
    for it. Once per failed row and channel (the dedupe key); None when there is nothing left to try or the alert
    is not urgent."""
    if not is_urgent_alert(log):
        return None
    channel = _next_channel(log)
    if channel is None:
        # Only the last row of a chain has nothing left: once per alert.
        logger.error("notification %s: every channel of the nurse's chain failed", log.pk)
        return None
    return _fall_back(log, channel)


def _next_channel(log: NotificationLog) -> str | None:
    assert log.recipient_nurse is not None  # is_urgent_alert
    tried = [log.channel, *(row.channel for row in replaced_rows(log))]
    return next_channel(nurse_chain(log.recipient_nurse), tried)


def _fall_back(log: NotificationLog, channel: str) -> NotificationLog:
    copy = _copy(log, channel=channel, dedupe_key=f"{log.dedupe_key}:fallback:{channel}")
    if copy.status == NotificationStatus.PENDING:
        fallback_timer_arm(copy)  # the copy too moves on if it has not gone out in time (one timer per row)
    return copy


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
