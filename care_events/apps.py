from django.apps import AppConfig


class CareEventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "care_events"
    verbose_name = "Care events"

    def ready(self) -> None:
        from care_events import handlers, signals  # noqa: F401 - registers subscriptions and receivers
