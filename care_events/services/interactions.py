"""Conversations with the patient: the agent's interactions and the answers they record, the patient's own
texts, and what reaching the patient changes (no check-in, no "not answered" call)."""

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from care_events.choices import Severity
from care_events.models import (
    AgentInteraction,
    Episode,
    InteractionResponse,
    MessageHandledHow,
    OutreachAttempt,
    OutreachPlan,
    Patient,
    PatientMessage,
)
from care_events.platform.bus.dispatch import Actor, acting, acting_user_id, emit
from care_events.platform.bus.models import Timer, TimerKind
from care_events.platform.bus.timers import timer_schedule, timers_cancel
from care_events.platform.errors import ConflictError
from care_events.red_flags import has_red_flag

logger = logging.getLogger(__name__)


@transaction.atomic
def interaction_start(*, episode: Episode, outreach_attempt: OutreachAttempt | None = None) -> AgentInteraction:
    """Start a conversation with the patient. Started after the discharge, it means the patient was reached: the
    pending check-in is cancelled and a check-in already sent counts as answered (`_patient_reached`)."""
    if outreach_attempt is not None and outreach_attempt.plan.episode_id != episode.pk:
        raise ValidationError({"outreach_attempt_id": "This outreach attempt belongs to another episode."})
    # Locked against a discharge and the scheduling of its check-in running at the same time (checkin_schedule).
    episode = Episode.objects.select_for_update().get(pk=episode.pk)
    opened_by_patient = _opened_by_patient(episode.pk)
    if opened_by_patient is not None:
        # The patient's text opened it (patient_reply_record) and the agent has not answered in it yet: this is the
        # conversation the agent is starting, not a second one beside it. Starting is not acting on the text.
        if outreach_attempt is not None and opened_by_patient.outreach_attempt_id is None:
            opened_by_patient.outreach_attempt = outreach_attempt
            opened_by_patient.save(update_fields=["outreach_attempt", "updated_at"])
        return opened_by_patient
    interaction = AgentInteraction.objects.create(episode=episode, outreach_attempt=outreach_attempt)
    if episode.discharged_at is not None and interaction.started_at >= episode.discharged_at:
        _patient_reached(episode_id=episode.pk, now=interaction.started_at)
    return interaction


OPEN_INTERACTION = (AgentInteraction.Status.IN_PROGRESS, AgentInteraction.Status.ESCALATED)


def _opened_by_patient(episode_id: uuid.UUID) -> AgentInteraction | None:
    """The episode's open interaction that holds the patient's texts and no response of the agent's yet."""
    return (
        AgentInteraction.objects.select_for_update()
        .filter(episode_id=episode_id, status__in=OPEN_INTERACTION)
        .filter(Exists(PatientMessage.objects.filter(interaction=OuterRef("pk"))))
        .exclude(Exists(InteractionResponse.objects.filter(interaction=OuterRef("pk"))))
        .order_by("-started_at")
        .first()
    )


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
    patient_messages_handled(interaction_id=interaction.pk, how=MessageHandledHow.AGENT_RESPONSE, before=now)
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


# The lock that numbers patient messages (PatientMessage.seq): held until the reply's transaction commits, so a
# message numbered n is committed before n+1 is numbered and the agent's cursor never passes over one.
_MESSAGE_SEQ_LOCK = 0x5E0_0001


@transaction.atomic
def patient_reply_record(*, patient_id: uuid.UUID, text: str, provider_message_id: str) -> PatientMessage | None:
    """The patient texted something that is not a keyword (notifications/webhooks.py). It is recorded for the agent
    on the open interaction of the patient's most recent discharged episode (none open: a new one, tied to the
    check-in attempt it answers, which the agent's own POST interactions/ then takes up) and emits
    `interaction/patient_replied`, whose webhook tells the agent.

    A bare reply answers nothing: the check-in's no-answer timer keeps running until someone acts on the text
    (`patient_messages_handled`). Nobody acts within REPLY_REVIEW_AFTER_MINUTES: a nurse review task (the
    REPLY_REVIEW timer); a red-flag phrase (care_events/red_flags.py): that task, HIGH, at once.

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
    ) or AgentInteraction.objects.create(episode=episode, outreach_attempt=_waiting_attempt(episode.pk))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_MESSAGE_SEQ_LOCK])
    seq = (PatientMessage.objects.aggregate(last=Max("seq"))["last"] or 0) + 1
    message = PatientMessage.objects.create(
        interaction=interaction,
        text=text,
        provider_message_id=provider_message_id,
        seq=seq,
        red_flag=has_red_flag(text),
    )
    wait = dt.timedelta(minutes=0 if message.red_flag else settings.REPLY_REVIEW_AFTER_MINUTES)
    timer_schedule(kind=TimerKind.REPLY_REVIEW, subject_id=message.pk, due_at=message.received_at + wait)
    emit(
        "interaction/patient_replied",
        {"interaction_id": interaction.pk, "message_id": message.pk},
        once_for=(message.pk,),
    )
    logger.info("patient message %s recorded on interaction %s", message.pk, interaction.pk)
    return message


def _waiting_attempt(episode_id: uuid.UUID) -> OutreachAttempt | None:
    """The episode's latest check-in attempt still waiting for an answer: the one a text most likely answers."""
    return (
        OutreachAttempt.objects.filter(plan__episode_id=episode_id, status=OutreachAttempt.Status.SENT)
        .order_by("-attempted_at")
        .first()
    )


def patient_messages_handled(
    *, interaction_id: uuid.UUID, how: str, before: dt.datetime | None = None, message_id: uuid.UUID | None = None
) -> int:
    """Someone acted on the patient's texts in this interaction (received by `before`, or the one `message_id`):
    they are marked handled, their REPLY_REVIEW timers are cancelled, and the patient counts as reached (the
    check-in answered, no "not answered" call task: `_patient_reached`). Returns how many were marked. Runs in the
    caller's transaction; a message handled already keeps its first mark."""
    unhandled = PatientMessage.objects.select_for_update().filter(interaction_id=interaction_id, handled_at=None)
    if before is not None:
        unhandled = unhandled.filter(received_at__lte=before)
    if message_id is not None:
        unhandled = unhandled.filter(pk=message_id)
    now = timezone.now()
    message_ids = list(unhandled.values_list("pk", flat=True))
    if not message_ids:
        return 0
    PatientMessage.objects.filter(pk__in=message_ids).update(handled_at=now, handled_how=how)
    Timer.objects.pending().filter(kind=TimerKind.REPLY_REVIEW, subject_id__in=message_ids).update(cancelled_at=now)
    episode_id = AgentInteraction.objects.values_list("episode_id", flat=True).get(pk=interaction_id)
    _patient_reached(episode_id=episode_id, now=now)
    logger.info("interaction %s: %d patient messages handled (%s)", interaction_id, len(message_ids), how)
    return len(message_ids)


@transaction.atomic
def patient_message_handle(*, message_id: uuid.UUID) -> PatientMessage:
    """The agent says it acted on this text (POST patient-messages/{id}/handled/): no nurse review follows. Marked
    once; a second mark answers with the first (idempotent)."""
    message = PatientMessage.objects.select_for_update().get(pk=message_id)
    if message.handled_at is None:
        patient_messages_handled(
            interaction_id=message.interaction_id, how=MessageHandledHow.AGENT_MARKED, message_id=message.pk
        )
        message.refresh_from_db()
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
    # A nurse now holds a task for this conversation: the patient's texts so far are hers to read.
    patient_messages_handled(interaction_id=interaction_id, how=MessageHandledHow.NURSE_TASK, before=timezone.now())
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
    patient_messages_handled(
        interaction_id=interaction.pk, how=MessageHandledHow.AGENT_COMPLETED, before=interaction.completed_at
    )
    return interaction
