"""Unreachable means someone else is told (docs/notifications.md#unreachable-someone-else-is-told).

An urgent alert's first row arms two durable timers in the transaction that writes it: ALERT_FALLBACK (the next
channel at NOTIFICATION_FALLBACK_AFTER_SECONDS: notifications.services.fallback) and ALERT_UNREACHABLE, after
ALERT_UNREACHABLE_AFTER_MINUTES of the task's severity. If by then no row of the alert has gone out (on any channel
of her chain) and the task is still open, hers, and not acknowledged since the alert, she cannot be reached: the
task follows the hand-over rule of an unacknowledged assignment and the charge nurses are alerted on their own
chains (tasks_app.services.handover.holder_unreachable), once per assignment. A timer that fires for an alert that
went out, a task closed, moved or acknowledged since (she is on it), or an alert given up on every row does nothing.
"""

import datetime as dt
import logging
import uuid

from django.conf import settings

from care_events.platform.bus.models import TimerKind
from care_events.platform.bus.timers import timer_schedule
from notifications.models import NotificationLog, NotificationStatus
from notifications.services.fallback import REACHED, alert_rows, fallback_timer_arm, is_urgent_alert
from tasks_app.services.handover import holder_unreachable

logger = logging.getLogger(__name__)


def unreachable_after(severity: str) -> dt.timedelta | None:
    """How long an urgent alert about a task of `severity` may go undelivered; None: not watched."""
    minutes = settings.ALERT_UNREACHABLE_AFTER_MINUTES.get(severity)
    return None if minutes is None else dt.timedelta(minutes=minutes)


def alert_timers_arm(log: NotificationLog) -> None:
    """In the transaction that writes an alert's first row: its fallback and unreachable timers, if it is an urgent
    nurse alert still to be sent. Asking again (a repeated request finds the row) finds the same timers."""
    if log.status != NotificationStatus.PENDING or log.replaces_id is not None or not is_urgent_alert(log):
        return
    fallback_timer_arm(log)
    assert log.task is not None  # is_urgent_alert
    bound = unreachable_after(log.task.severity)
    if bound is not None:
        timer_schedule(kind=TimerKind.ALERT_UNREACHABLE, subject_id=log.pk, due_at=log.created_at + bound)


def alert_unreachable_due(*, notification_id: uuid.UUID) -> None:
    """The ALERT_UNREACHABLE timer of the alert whose first row is `notification_id` (inside its firing
    transaction)."""
    root = NotificationLog.objects.filter(pk=notification_id).first()
    if root is None or root.task_id is None or root.recipient_nurse_id is None:
        return
    rows = alert_rows(root)
    if any(row.status in REACHED for row in rows) or all(row.status == NotificationStatus.CANCELLED for row in rows):
        return
    if holder_unreachable(task_id=root.task_id, nurse_id=root.recipient_nurse_id, since=root.created_at):
        logger.warning(
            "notification %s: no channel of nurse %s's chain delivered it (%d rows); the charge nurses are told",
            root.pk,
            root.recipient_nurse_id,
            len(rows),
        )
