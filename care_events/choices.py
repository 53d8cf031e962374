"""The words every app shares: they appear in the event catalogue's payloads, which are the contract between apps.

`care_events` owns them because it owns the catalogue; `tasks_app` and `notifications` import them from here, so
neither app needs the other's modules for its vocabulary (docs/architecture.md#apps).
"""

from django.db import models


class Severity(models.TextChoices):
    """The agent's grading of a response; also the severity of an escalation task."""

    LOW = "LOW", "Low"
    MODERATE = "MODERATE", "Moderate"
    HIGH = "HIGH", "High"
    CRITICAL = "CRITICAL", "Critical"

    @classmethod
    def rank(cls, value: str) -> int:
        """LOW < MODERATE < HIGH < CRITICAL; an empty severity ranks below LOW."""
        return cls.values.index(value) + 1 if value else 0

    @classmethod
    def escalates(cls, value: str) -> bool:
        """MODERATE, HIGH and CRITICAL answers create an escalation task."""
        return cls.rank(value) >= cls.rank(cls.MODERATE)


class NotificationType(models.TextChoices):
    """Why a message is sent: the `notification_type` of a `notification/send` event, and NotificationLog.type.

    Only the types the product sends; a new one is added together with its sender, its dedupe key
    (care_events/notify.py or tasks_app/notify.py, the sender's app) and its template (notifications/messages.py).
    """

    TASK_ASSIGNED = "TASK_ASSIGNED", "Task assigned"
    TASK_REASSIGNED = "TASK_REASSIGNED", "Task reassigned"
    TASK_UNASSIGNED = "TASK_UNASSIGNED", "Task waiting: nobody on shift"
    SLA_WARNING = "SLA_WARNING", "SLA warning (75 %)"
    SLA_BREACH = "SLA_BREACH", "SLA breach"
    URGENT_HANDOFF = "URGENT_HANDOFF", "Urgent hand-off"
    CHECKIN = "CHECKIN", "Check-in message"
    ACK_REMINDER = "ACK_REMINDER", "Task not acknowledged: reminder"
    ACK_ESCALATED = "ACK_ESCALATED", "Task not acknowledged: handed on"
    NURSE_UNREACHABLE = "NURSE_UNREACHABLE", "Nurse not reached by an urgent alert"


class Channel(models.TextChoices):
    """How a message reaches its recipient. WhatsApp is a route of SMS (Twilio's whatsapp: prefix), not a fifth
    channel."""

    SMS = "SMS", "SMS"
    EMAIL = "EMAIL", "Email"
    PUSH = "PUSH", "Push"
    VOICE = "VOICE", "Voice"
