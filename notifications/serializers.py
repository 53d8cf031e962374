from rest_framework import serializers

from notifications.models import NotificationLog


class NotificationSerializer(serializers.ModelSerializer):
    task_id = serializers.UUIDField(read_only=True, allow_null=True, help_text="The task it is about, if any.")
    episode_id = serializers.UUIDField(read_only=True, allow_null=True, help_text="The episode it is about, if any.")

    class Meta:
        model = NotificationLog
        fields = [
            "id",
            "type",
            "channel",
            "status",
            "subject",
            "body",
            "task_id",
            "episode_id",
            "created_at",
            "sent_at",
            "delivered_at",
            "read_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "The notification's UUID."},
            "type": {"help_text": "Why it was sent, e.g. TASK_ASSIGNED, SLA_WARNING, SLA_BREACH, URGENT_HANDOFF."},
            "channel": {"help_text": "SMS, EMAIL, PUSH or VOICE."},
            "status": {"help_text": "PENDING → SENT → DELIVERED → READ, or FAILED / CANCELLED; only moves forward."},
            "subject": {"help_text": "Email subject; empty for other channels."},
            "body": {"help_text": "The message as sent."},
            "created_at": {"help_text": "UTC."},
            "sent_at": {"help_text": "UTC."},
            "delivered_at": {"help_text": "UTC."},
            "read_at": {"help_text": "UTC; set by POST notifications/{id}/read/."},
        }
