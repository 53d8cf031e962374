"""Reads of care_events. The API scopes by role, not by row: the agent and staff read any patient, episode and
interaction (config/rest/permissions.py)."""

from django.db.models import QuerySet

from care_events.models import AgentInteraction, Episode, OutreachAttempt, Patient


def patient_list() -> QuerySet[Patient]:
    return Patient.objects.all()


def episode_list() -> QuerySet[Episode]:
    return Episode.objects.select_related("patient")


def interaction_list() -> QuerySet[AgentInteraction]:
    return AgentInteraction.objects.select_related("episode").prefetch_related("responses")


def outreach_attempt_list() -> QuerySet[OutreachAttempt]:
    return OutreachAttempt.objects.select_related("plan")
