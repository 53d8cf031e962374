from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import pre_save


class CareEventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "care_events"
    verbose_name = "Care events"

    def ready(self) -> None:
        from care_events import events, handlers, signals  # noqa: F401 - registers events, subscriptions, receivers
        from care_events.models import (
            AgentInteraction,
            Episode,
            InteractionResponse,
            OutreachAttempt,
            OutreachPlan,
            Patient,
            PatientMessage,
        )
        from care_events.platform.api_clients.tokens import api_tokens_revoke_on_password_change
        from care_events.platform.audit import register_phi
        from care_events.platform.audit import signals as audit_signals  # noqa: F401 - login and API key receivers
        from care_events.platform.sessions import session_login_time_record

        user_logged_in.connect(session_login_time_record, dispatch_uid="care_events.platform.sessions.login_at")
        pre_save.connect(
            api_tokens_revoke_on_password_change,
            sender=get_user_model(),
            dispatch_uid="care_events.platform.api_clients.password_change",
        )

        register_phi(Patient, patient="pk")
        register_phi(Episode, patient="patient_id")
        register_phi(OutreachPlan, patient="episode__patient_id")
        register_phi(OutreachAttempt, patient="plan__episode__patient_id")
        register_phi(AgentInteraction, patient="episode__patient_id")
        register_phi(InteractionResponse, patient="interaction__episode__patient_id")
        register_phi(PatientMessage, patient="interaction__episode__patient_id")
