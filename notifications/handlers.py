"""notifications' subscription: a one-line adapter from the bus to a service (docs/events.md has the table)."""

from care_events.platform.bus.dispatch import Payload, subscribe
from notifications.services.create import notification_create


@subscribe("notification/send", name="send-notification")
def send_notification(payload: Payload) -> None:
    notification_create(**payload)
