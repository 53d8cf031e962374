"""Conversations with the patient: the agent's interactions and the answers they record, the patient's own
texts, and what reaching the patient changes (no check-in, no "not answered" call)."""

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from care_events.choices import Severity
from care_events.models import (
    AgentInteraction,
    Episode,
    InteractionResponse,
    OutreachAttempt,
    OutreachPlan,
    Patient,
    PatientMessage,
)
from care_events.platform.bus.dispatch import Actor, acting, acting_user_id, emit
from care_events.platform.bus.models import TimerKind
from care_events.platform.bus.timers import timers_cancel
from care_events.platform.errors import ConflictError

logger = logging.getLogger(__name__)


@transaction.atomic
def interaction_start(*, episode: Episode, outreach_attempt: OutreachAttempt | None = None) -> AgentInteraction:
    """Start a conversation with the patient. Started after the discharge, it means the patient was reached: the
    pending check-in is cancelled and a check-in already sent counts as answered (`_patient_reached`)."""
    if outreach_attempt is not None and outreach_attempt.plan.episode_id != episode.pk:
        raise ValidationError({"outreach_attempt_id": "This outreach attempt belongs to another episode."})
    # Locked against a discharge and the scheduling of its check-in running at the same time (checkin_schedule).
    episode = Episode.objects.select_for_update().get(pk=episode.pk)
    interaction = AgentInteraction.objects.create(episode=episode, outreach_attempt=outreach_attempt)
    if episode.discharged_at is not None and interaction.started_at >= episode.discharged_at:
        _patient_reached(episode_id=episode.pk, now=interaction.started_at)
    return interaction


OPEN_INTERACTION = (AgentInteraction.Status.IN_PROGRESS, AgentInteraction.Status.ESCALATED)


class InteractionResponseLimitError(ConflictError):
    """The interaction holds AGENT_RESPONSES_PER_INTERACTION responses already."""

    code = "interaction_response_limit"


@transaction.atomic
def interaction_response_record(
    *,
    interaction: AgentInteraction,
    text: str,
    severity: str,
    reason_codes: list[str],
    question: str = "",
    actor: Actor = None,
) -> InteractionResponse:
    """Record one graded answer. Its save emits `interaction/response_received` (care_events/signals.py), whose
    handler escalates a worrying one (tasks_app.services.escalation.response_escalate).

    An answer also means the patient was reached: the episode's open check-in attempts become ANSWERED and their
    no-answer timers are cancelled, so no "call the patient" task is created after all.
    """
    interaction = AgentInteraction.objects.select_for_update().get(pk=interaction.pk)
    if interaction.status not in OPEN_INTERACTION:
        raise ValidationError({"interaction": "This interaction is finished; start a new one."})
    # Counted under the interaction's lock, so racing responses cannot pass the cap together. A conversation is a
    # few dozen answers: a loop in the agent stops here rather than fill the nurse's reading and the database.
    if InteractionResponse.objects.filter(interaction=interaction).count() >= settings.AGENT_RESPONSES_PER_INTERACTION:
        raise InteractionResponseLimitError(
            f"This interaction holds {settings.AGENT_RESPONSES_PER_INTERACTION} responses, the most it may; start a "
            "new interaction."
        )
    now = timezone.now()
    with acting(actor):  # its save emits the event (care_events/signals.py)
        response = InteractionResponse.objects.create(
            interaction=interaction, question=question, text=text, severity=severity, reason_codes=reason_codes
        )
    interaction.last_response_at = now
    if Severity.rank(severity) > Severity.rank(interaction.severity):
        interaction.severity = severity
    interaction.save(update_fields=["last_response_at", "severity", "updated_at"])
    _patient_reached(episode_id=interaction.episode_id, now=now)
    return response


def _patient_reached(*, episode_id: uuid.UUID, now: dt.datetime) -> None:
    """The patient was reached (an interaction started after the discharge, a graded response, a text of their
    own): the episode's check-in not yet due is cancelled (no "How are you feeling?" text), and its check-in attempts
    still waiting for an answer become ANSWERED with their no-answer timers cancelled, so no "call the patient" task
    follows. Runs in the caller's transaction."""
    # First: if the check-in is firing right now, this waits for it to commit, and the attempt it made is then
    # found below and answered.
    timers_cancel(subject_id=episode_id, kinds=[TimerKind.CHECKIN_DUE])
    # Locked: an attempt whose no-answer timer is firing right now is re-read once that commits, and a NO_ANSWER
    # attempt (its call task already made) is left as it is.
    answered = list(
        OutreachAttempt.objects.select_for_update()
        .filter(plan__episode_id=episode_id, status=OutreachAttempt.Status.SENT)
        .values_list("pk", flat=True)
    )
    OutreachAttempt.objects.filter(pk__in=answered).update(
        status=OutreachAttempt.Status.ANSWERED, answered_at=now, updated_at=now
    )
    for attempt_id in answered:
        timers_cancel(subject_id=attempt_id, kinds=[TimerKind.CHECKIN_NO_ANSWER])


@transaction.atomic
def patient_reply_record(*, patient_id: uuid.UUID, text: str, provider_message_id: str) -> PatientMessage | None:
    """The patient texted something that is not a keyword (notifications/webhooks.py). It is recorded for the agent
    on the open interaction of the patient's most recent discharged episode (a new interaction when none is open)
    and emits `interaction/patient_replied`. A reply is an answer: the episode's check-in attempts become ANSWERED
    and their no-answer timers are cancelled, as for a graded response.

    No discharged episode: None (there is no conversation to put it in; the inbound message row is kept by the
    caller). The same provider message again: the first PatientMessage, nothing else changes."""
    # One reply of a patient at a time: two texts arriving together must not open two interactions, and a retried
    # webhook waits here for the first one and then finds its message.
    Patient.objects.select_for_update().only("pk").get(pk=patient_id)
    existing = PatientMessage.objects.filter(provider_message_id=provider_message_id).first()
    if existing is not None:
        return existing
    episode = (
        Episode.objects.filter(patient_id=patient_id, discharged_at__isnull=False).order_by("-discharged_at").first()
    )
    if episode is None:
        return None
    interaction = (
        AgentInteraction.objects.select_for_update()
        .filter(episode=episode, status__in=OPEN_INTERACTION)
        .order_by("-started_at")
        .first()
    ) or interaction_start(episode=episode)
    message = PatientMessage.objects.create(interaction=interaction, text=text, provider_message_id=provider_message_id)
    _patient_reached(episode_id=episode.pk, now=message.received_at)
    emit(
        "interaction/patient_replied",
        {"interaction_id": interaction.pk, "message_id": message.pk},
        once_for=(message.pk,),
    )
    logger.info("patient message %s recorded on interaction %s", message.pk, interaction.pk)
    return message


def interaction_escalate(
    *, interaction_id: uuid.UUID, task_id: uuid.UUID, severity: str, response_id: uuid.UUID | None = None
) -> None:
    """An escalation task was created for this interaction (from a response, or the agent's flag or handoff):
    the interaction is marked ESCALATED if still in progress, and `interaction/escalated` is emitted once per
    task."""
    AgentInteraction.objects.filter(pk=interaction_id, status=AgentInteraction.Status.IN_PROGRESS).update(
        status=AgentInteraction.Status.ESCALATED, updated_at=timezone.now()
    )
    emit(
        "interaction/escalated",
        {"interaction_id": interaction_id, "response_id": response_id, "severity": severity, "task_id": task_id},
        once_for=(task_id,),
        actor=acting_user_id(),
    )


@transaction.atomic
def interaction_complete(
    *, interaction: AgentInteraction, outcome: str, summary: str = "", actor: Actor = None
) -> AgentInteraction:
    """Complete the check-in; the save emits `checkin/completed`. Completing twice changes nothing."""
    interaction = AgentInteraction.objects.select_for_update().get(pk=interaction.pk)
    if interaction.status == AgentInteraction.Status.COMPLETED:
        return interaction
    if interaction.status not in OPEN_INTERACTION:
        raise ValidationError({"interaction": "This interaction was abandoned and cannot be completed."})
    interaction.status = AgentInteraction.Status.COMPLETED
    interaction.completed_at = timezone.now()
    interaction.outcome, interaction.summary = outcome, summary
    with acting(actor):  # its save emits `checkin/completed` (care_events/signals.py)
        interaction.save()
    OutreachPlan.objects.filter(episode_id=interaction.episode_id, status=OutreachPlan.Status.ACTIVE).update(
        status=OutreachPlan.Status.COMPLETED, updated_at=timezone.now()
    )
    return interaction
