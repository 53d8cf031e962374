from django.apps import AppConfig


class CareEventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "care_events"
    verbose_name = "Care events"
