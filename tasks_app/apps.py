from django.apps import AppConfig


class TasksAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tasks_app"
    verbose_name = "Nurses and escalation tasks"

    def ready(self) -> None:
        from care_events.platform.audit import register_phi
        from tasks_app import care_team, events, handlers, signals  # noqa: F401 - events, subscriptions, receivers
        from tasks_app.models import EscalationTask

        register_phi(EscalationTask, patient="patient_id")
