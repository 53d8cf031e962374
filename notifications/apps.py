from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from care_events.audit import register_phi
        from notifications import handlers  # noqa: F401 - registers the send-notification subscription
        from notifications.models import InboundMessage, NotificationLog

        register_phi(NotificationLog, patient="patient_id")
        register_phi(InboundMessage, patient="patient_id")
