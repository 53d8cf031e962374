from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from care_events.platform.audit import register_phi
        from care_events.platform.roles import sync_roles_after_migrate
        from notifications import events, handlers  # noqa: F401 - registers its events and subscriptions
        from notifications.models import InboundMessage, NotificationLog

        register_phi(NotificationLog, patient="patient_id")
        register_phi(InboundMessage, patient="patient_id")
        # The app whose migration creates the roles keeps them (care_events/platform/roles.py); once per migrate or
        # flush.
        post_migrate.connect(sync_roles_after_migrate, sender=self)
