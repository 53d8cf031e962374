"""The events of notifications: asking for a message, and what became of it (docs/events.md).

`notification/send` is how care_events and tasks_app ask for a message without importing this app: they emit it
by name, and the bus validates it against the schema declared here.
"""

from typing import Any

from rest_framework import serializers

from care_events.choices import NotificationType
from care_events.platform.bus.catalogue import EventType, Payload, register


class NotificationSendPayload(Payload):
    notification_type = serializers.ChoiceField(choices=NotificationType.choices)
    # Names the logical message: the app asking for it spells it (care_events/notify.py, tasks_app/notify.py).
    dedupe_key = serializers.CharField(max_length=200)
    recipient_nurse_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    recipient_patient_id = serializers.UUIDField(required=False, allow_null=True)
    task_id = serializers.UUIDField(required=False, allow_null=True)
    episode_id = serializers.UUIDField(required=False, allow_null=True)
    urgent = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if bool(attrs.get("recipient_nurse_id")) == bool(attrs.get("recipient_patient_id")):
            raise serializers.ValidationError(
                {"recipient_nurse_id": ["Give exactly one of recipient_nurse_id and recipient_patient_id."]}
            )
        return attrs


class NotificationPayload(Payload):
    notification_id = serializers.UUIDField()


class NotificationFailedPayload(NotificationPayload):
    error_code = serializers.CharField(max_length=50, allow_blank=True)


# `notification/send` once per logical message (its dedupe key), the others once per notification, keyed with the
# prefix their stored keys have (care_events/platform/bus/catalogue.py).
register(
    EventType(
        "notification/send", NotificationSendPayload, "Send one notification to one recipient.", key_prefix="notify"
    ),
    EventType(
        "notification/delivered",
        NotificationPayload,
        "The provider accepted or delivered a message.",
        key_prefix="delivered",
    ),
    EventType("notification/failed", NotificationFailedPayload, "A message failed for good.", key_prefix="failed"),
    EventType("notification/read", NotificationPayload, "The recipient read the notification.", key_prefix="read"),
)
