from django.apps import AppConfig


class IntakeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "intake"
    verbose_name = "Hospital ADT feed"

    def ready(self) -> None:
        from care_events.platform.audit import register_phi
        from intake.models import AdtMessage

        register_phi(AdtMessage, patient="patient_id")
