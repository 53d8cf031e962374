"""The seed's notification enums (notification_type, notification_channel, notification_status)."""

from django.db import models


class NotificationType(models.TextChoices):
    TASK_ASSIGNED = "TASK_ASSIGNED", "Task assigned"
    TASK_REASSIGNED = "TASK_REASSIGNED", "Task reassigned"
    TASK_UNASSIGNED = "TASK_UNASSIGNED", "Task waiting: nobody on shift"
    SLA_WARNING = "SLA_WARNING", "SLA warning (75 %)"
    SLA_BREACH = "SLA_BREACH", "SLA breach"
    URGENT_HANDOFF = "URGENT_HANDOFF", "Urgent hand-off"
    CHECKIN = "CHECKIN", "Check-in message"
    CHECKIN_REMINDER = "CHECKIN_REMINDER", "Check-in reminder"
    CHECKIN_NO_ANSWER = "CHECKIN_NO_ANSWER", "Check-in not answered"
    TASK_RESOLVED = "TASK_RESOLVED", "Task resolved"
    SYSTEM_ALERT = "SYSTEM_ALERT", "System alert"


class Channel(models.TextChoices):
    """WhatsApp is a route of SMS (Twilio's whatsapp: prefix), not a fifth channel."""

    SMS = "SMS", "SMS"
    EMAIL = "EMAIL", "Email"
    PUSH = "PUSH", "Push"
    VOICE = "VOICE", "Voice"


class NotificationStatus(models.TextChoices):
    """Status only moves forward: PENDING → SENT → DELIVERED → READ, or to FAILED / CANCELLED."""

    PENDING = "PENDING", "Pending"
    SENT = "SENT", "Sent"
    DELIVERED = "DELIVERED", "Delivered"
    READ = "READ", "Read"
    FAILED = "FAILED", "Failed"
    CANCELLED = "CANCELLED", "Cancelled"
