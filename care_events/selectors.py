"""Reads of care_events. The API reads through the `*_for(user=...)` selectors: with the permission
`care_events.view_all_patients` (the agent, charge nurses) a user reads every patient, episode and interaction;
without it (a nurse) only those of the patients of her tasks that are open or closed less than
NURSE_ACCESS_AFTER_CLOSE_HOURS ago (docs/permissions.md#row-scoping). Anything else is simply not in her queryset,
so it is a 404, the same answer as for an id that does not exist."""

import datetime as dt
import uuid
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import F, Max, Model, Prefetch, Q, QuerySet
from django.utils import timezone

from care_events.models import (
    AgentInteraction,
    Episode,
    InteractionResponse,
    OutreachAttempt,
    OutreachPlan,
    Patient,
    PatientMessage,
)

M = TypeVar("M", bound=Model)


def patient_list() -> QuerySet[Patient]:
    return Patient.objects.all()


def visible_to(rows: QuerySet[M], *, user: User, patient: str) -> QuerySet[M]:
    """The `rows` the user may read; `patient` is the path from a row to its patient's id. Tasks are read through
    the reverse relation of tasks_app's foreign key (`Patient.tasks`), so care_events imports nothing of it: a task
    is closed when it has a resolved or cancelled time."""
    if user.has_perm("care_events.view_all_patients"):
        return rows
    since = timezone.now() - dt.timedelta(hours=settings.NURSE_ACCESS_AFTER_CLOSE_HOURS)
    # One filter() call: every condition is about the same task (separate calls would join the tasks twice).
    theirs = Patient.objects.filter(
        Q(tasks__assigned_to__user=user)
        & (
            Q(tasks__resolved_at__isnull=True, tasks__cancelled_at__isnull=True)
            | Q(tasks__resolved_at__gte=since)
            | Q(tasks__cancelled_at__gte=since)
        )
    ).values("pk")
    return rows.filter(**{f"{patient}__in": theirs})


def patient_list_for(*, user: User) -> QuerySet[Patient]:
    return visible_to(patient_list(), user=user, patient="pk")


def patients_by_mrn_for(*, user: User, mrn: str, facility: str | None = None) -> QuerySet[Patient]:
    return visible_to(patients_by_mrn(mrn=mrn, facility=facility), user=user, patient="pk")


def patients_by_mrn(*, mrn: str, facility: str | None = None) -> QuerySet[Patient]:
    """The patients with this MRN (of this facility when given: then at most one), by facility. A patient without
    an MRN is never found."""
    patients = Patient.objects.filter(mrn=mrn).exclude(mrn="")
    if facility is not None:
        patients = patients.filter(facility=facility)
    return patients.order_by("facility", "pk")


def episode_list() -> QuerySet[Episode]:
    """With what `episode_current_outreach_attempt` reads, so that a page of episodes costs three queries."""
    return Episode.objects.select_related("patient").prefetch_related("outreach_plans__attempts")


def episode_list_for(*, user: User) -> QuerySet[Episode]:
    return visible_to(episode_list(), user=user, patient="patient_id")


def patient_episode_list(*, patient_id: uuid.UUID) -> QuerySet[Episode]:
    """A patient's episodes, newest admission first."""
    return episode_list().filter(patient_id=patient_id).order_by("-admitted_at", "-created_at", "-pk")


def episode_current_outreach_attempt(episode: Episode) -> OutreachAttempt | None:
    """The latest attempt of the episode's active outreach plan (the one the agent passes as `outreach_attempt_id`
    when it starts an interaction), or None. Reads the prefetch of `episode_list()` (a query of its own without)."""
    plan = next((p for p in episode.outreach_plans.all() if p.status == OutreachPlan.Status.ACTIVE), None)
    if plan is None:
        return None
    return max(plan.attempts.all(), key=lambda attempt: attempt.attempt_number, default=None)


def interaction_list() -> QuerySet[AgentInteraction]:
    """With the escalation tasks of each interaction and their nurses' names (read through the reverse relation
    `tasks` of tasks_app's foreign key, so care_events still imports nothing of tasks_app), newest task first."""
    return AgentInteraction.objects.select_related("episode").prefetch_related("responses", "tasks__assigned_to__user")


def interaction_list_for(*, user: User) -> QuerySet[AgentInteraction]:
    return visible_to(interaction_list(), user=user, patient="episode__patient_id")


def interaction_response_list() -> QuerySet[InteractionResponse]:
    """Responses with their interaction's tasks (a response shows the task it escalated to)."""
    return InteractionResponse.objects.select_related("interaction").prefetch_related(
        "interaction__tasks__assigned_to__user"
    )


def interaction_responses(*, interaction_id: uuid.UUID) -> QuerySet[InteractionResponse]:
    """One interaction's responses, oldest first (a stable order for paging)."""
    return interaction_response_list().filter(interaction_id=interaction_id).order_by("received_at", "pk")


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


def episode_interactions(*, episode_id: uuid.UUID) -> QuerySet[AgentInteraction]:
    """An episode's interactions, newest first, each with its patient's texts newest first (one query for all)."""
    return (
        AgentInteraction.objects.filter(episode_id=episode_id)
        .prefetch_related(Prefetch("patient_messages", queryset=PatientMessage.objects.order_by("-seq")))
        .order_by("-started_at", "-pk")
    )


def patient_messages_after_for(*, user: User, after: int) -> QuerySet[PatientMessage]:
    """The texts the user may read that came after position `after` (PatientMessage.seq), in order of arrival."""
    messages = PatientMessage.objects.select_related("interaction__episode").filter(seq__gt=after).order_by("seq")
    return visible_to(messages, user=user, patient="interaction__episode__patient_id")


def patient_message_list_for(*, user: User) -> QuerySet[PatientMessage]:
    return visible_to(PatientMessage.objects.all(), user=user, patient="interaction__episode__patient_id")
