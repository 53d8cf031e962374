"""notifications' subscriptions to events and timers: one-line adapters from the bus to a service (docs/events.md
has the table)."""

import datetime as dt
import uuid

from care_events.platform.bus.catalogue import URGENT
from care_events.platform.bus.dispatch import Payload, Rows, subscribe
from care_events.platform.bus.models import TimerKind
from care_events.platform.bus.timers import timer_handler
from notifications.services.delivery import notification_send
from notifications.services.fallback import alert_fallback_due
from notifications.services.unreachable import alert_unreachable_due


# Inline: the message's row is written (and an in-process backend's send made) in the transaction that asks for it,
# an assignment's: no message of its own. A real provider's call goes to the delivery worker.
@subscribe("notification/send", name="send-notification", inline=True)
def send_notification(payload: Payload, rows: Rows) -> None:
    notification_send(rows=rows, **payload)


@timer_handler(TimerKind.ALERT_FALLBACK, queue=URGENT)
def alert_fallback(notification_id: uuid.UUID, due_at: dt.datetime) -> None:
    alert_fallback_due(notification_id=notification_id)


@timer_handler(TimerKind.ALERT_UNREACHABLE, queue=URGENT)
def alert_unreachable(notification_id: uuid.UUID, due_at: dt.datetime) -> None:
    alert_unreachable_due(notification_id=notification_id)
