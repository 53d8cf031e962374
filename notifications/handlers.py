"""notifications' subscription: a one-line adapter from the bus to a service (docs/events.md has the table)."""

from care_events.platform.bus.dispatch import Payload, Rows, subscribe
from notifications.services.delivery import notification_send


# Inline: the message's row is written (and an in-process backend's send made) in the transaction that asks for it,
# an assignment's: no message of its own. A real provider's call goes to the delivery worker.
@subscribe("notification/send", name="send-notification", inline=True)
def send_notification(payload: Payload, rows: Rows) -> None:
    notification_send(rows=rows, **payload)
