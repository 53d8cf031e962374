from care_events.events import subscribe
from care_events.models import Event
from notifications.services import notification_create


@subscribe("notification/send", name="send-notification")
def send_notification(event: Event) -> None:
    notification_create(event=event)
