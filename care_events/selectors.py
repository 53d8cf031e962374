"""Reads of care_events. The API scopes by role, not by row: the agent and staff read any patient, episode and
interaction (config/rest/permissions.py)."""

import uuid

from django.db.models import F, Max, QuerySet

from care_events.models import AgentInteraction, Episode, OutreachAttempt, Patient, PatientMessage


def patient_list() -> QuerySet[Patient]:
    return Patient.objects.all()


def episode_list() -> QuerySet[Episode]:
    return Episode.objects.select_related("patient")


def interaction_list() -> QuerySet[AgentInteraction]:
    return AgentInteraction.objects.select_related("episode").prefetch_related("responses")


def outreach_attempt_list() -> QuerySet[OutreachAttempt]:
    return OutreachAttempt.objects.select_related("plan")


def patients_by_phone(*, phone: str) -> QuerySet[Patient]:
    """The patients with this number (E.164). Family members can share a phone: the one discharged most recently
    comes first (the one a text from that number most likely answers), then the newest."""
    return (
        Patient.objects.filter(phone=phone)
        .annotate(last_discharged_at=Max("episodes__discharged_at"))
        .order_by(F("last_discharged_at").desc(nulls_last=True), "-created_at", "pk")
    )


def patient_message_list(*, interaction_id: uuid.UUID) -> QuerySet[PatientMessage]:
    """What the patient texted in this interaction, oldest first."""
    return PatientMessage.objects.filter(interaction_id=interaction_id).order_by("received_at", "pk")
