from django.apps import AppConfig


class TasksAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tasks_app"
    verbose_name = "Nurses and escalation tasks"
