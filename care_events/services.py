"""Writes of the care domain: patients, episodes and their discharge, the check-in, interactions and responses."""

import datetime as dt
import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from care_events.bus.dispatch import UnknownEventError, emit, payload_read
from care_events.bus.models import Event, Timer, TimerKind
from care_events.bus.timers import timer_reschedule, timer_schedule, timers_cancel
from care_events.choices import NotificationType, Severity
from care_events.models import (
    PATIENT_MRN_UNIQUE,
    AgentInteraction,
    Episode,
    InteractionResponse,
    OutreachAttempt,
    OutreachPlan,
    Patient,
    PatientMessage,
)
from care_events.notify import checkin_key, notification_request
from care_events.quiet_hours import in_quiet_hours, next_allowed_moment
from care_events.selectors import patients_by_mrn

logger = logging.getLogger(__name__)


class PatientExistsError(Exception):
    """A patient with this MRN of this facility exists already (the API answers 409 with its id)."""

    def __init__(self, existing_id: uuid.UUID) -> None:
        super().__init__("A patient with this MRN of this facility exists.")
        self.existing_id = existing_id


@transaction.atomic
def patient_create(
    *,
    first_name: str,
    last_name: str,
    date_of_birth: dt.date,
    phone: str,
    timezone: str = "America/New_York",
    preferred_language: str = "en",
    sms_consent: bool = True,
    mrn: str = "",
    facility: str = "",
) -> Patient:
    """`phone` must already be E.164 (the API normalises what it is given). An MRN comes with the facility that
    issued it; a second patient with the same pair raises PatientExistsError naming the first, also when two
    creates race (the loser's INSERT waits on the unique index for the winner's commit, then fails)."""
    if mrn and not facility:
        raise ValidationError({"facility": "Give the facility that issued the MRN."})
    if facility and not mrn:
        raise ValidationError({"mrn": "A facility is recorded only with an MRN."})
    if mrn and (existing := patients_by_mrn(mrn=mrn, facility=facility).first()) is not None:
        raise PatientExistsError(existing.pk)
    patient = Patient(
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        phone=phone,
        timezone=timezone,
        preferred_language=preferred_language,
        sms_consent=sms_consent,
        mrn=mrn,
        facility=facility,
    )
    # Constraints are left to the database: Django's check of the MRN's conditional unique constraint would turn a
    # lost race into a 400 without the existing id. The other constraints are checked above or by field validators.
    patient.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable after the violation
            patient.save(force_insert=True)
    except IntegrityError as exc:
        if _violated_constraint(exc) != PATIENT_MRN_UNIQUE:
            raise
        # READ COMMITTED: this statement sees the row of the create that won.
        raise PatientExistsError(patients_by_mrn(mrn=mrn, facility=facility).get().pk) from None
    return patient


def _violated_constraint(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


@transaction.atomic
def patient_sms_consent_set(*, patient_id: uuid.UUID, consent: bool) -> bool:
    """The patient texted STOP (consent off, and when) or START (on again); Twilio's "unsubscribed recipient" error
    turns it off too. Returns whether it changed. A patient without consent is never texted (delivery checks it
    again right before each send)."""
    patient = Patient.objects.select_for_update().get(pk=patient_id)
    if patient.sms_consent == consent:
        return False
    patient.sms_consent, patient.sms_opted_out_at = consent, None if consent else timezone.now()
    patient.save(update_fields=["sms_consent", "sms_opted_out_at", "updated_at"])
    logger.info("patient %s sms consent %s", patient.pk, "on" if consent else "off")
    return True


def episode_create(*, patient: Patient, admitted_at: dt.datetime, condition: str, facility: str) -> Episode:
    """An episode starts admitted; its discharge is recorded by `episode_discharge`, which emits the event."""
    episode = Episode(patient=patient, admitted_at=admitted_at, condition=condition, facility=facility)
    episode.full_clean(exclude=["patient"])
    episode.save()
    return episode


@transaction.atomic
def episode_discharge(*, episode: Episode, discharged_at: dt.datetime | None = None) -> Event:
    """Record the discharge and emit `patient/discharged`, whose handler schedules the check-in. The one writer of
    `Episode.discharged_at`: a repeated discharge keeps the first time and returns the first event."""
    episode = Episode.objects.select_for_update().get(pk=episode.pk)
    if episode.discharged_at is None:
        discharged_at = discharged_at or timezone.now()
        if discharged_at < episode.admitted_at:
            raise ValidationError({"discharged_at": "The discharge cannot be before the admission."})
        episode.discharged_at = discharged_at
        episode.save(update_fields=["discharged_at", "updated_at"])
    return emit("patient/discharged", {"episode_id": episode.pk}, idempotency_key=f"discharged:{episode.pk}")


def external_event_receive(*, name: str, data: dict[str, Any]) -> Event:
    """An event sent by an outside caller (`POST /api/v1/events/`, which lets through only the catalogue's external
    events). Today that is `patient/discharged` alone: it is recorded by `episode_discharge`, as a discharge through
    its own endpoint is, so one code path writes `Episode.discharged_at` and a repeated event is accepted once."""
    payload = payload_read(name, data)  # 400 naming the field, before anything is written
    if name != "patient/discharged":
        raise UnknownEventError(name)
    return episode_discharge(episode=Episode.objects.get(pk=payload["episode_id"]))


def checkin_due_at(*, discharged_at: dt.datetime, tz_name: str) -> dt.datetime:
    return next_allowed_moment(discharged_at + dt.timedelta(seconds=settings.CHECKIN_DELAY), tz_name)


@transaction.atomic
def checkin_schedule(*, episode_id: uuid.UUID) -> Timer | None:
    """The check-in timer of a discharged episode: CHECKIN_DELAY after the discharge, outside the patient's quiet
    hours. One per episode: scheduling again finds the first. None when an interaction with the patient has started
    since the discharge: the patient was reached, so there is nothing to check in about (`interaction_start`)."""
    # Locked, as interaction_start locks it: an interaction started between the discharge and this handler either
    # committed before (and is seen below) or waits and then cancels the timer made here.
    episode = Episode.objects.select_for_update().select_related("patient").get(pk=episode_id)
    if episode.discharged_at is None:
        raise ValueError(f"episode {episode_id} is not discharged")  # only episode_discharge emits the event
    if episode.interactions.filter(started_at__gte=episode.discharged_at).exists():
        return None
    due_at = checkin_due_at(discharged_at=episode.discharged_at, tz_name=episode.patient.timezone)
    return timer_schedule(kind=TimerKind.CHECKIN_DUE, subject_id=episode.pk, due_at=due_at)


def checkin_start(*, episode_id: uuid.UUID, scheduled_at: dt.datetime) -> OutreachAttempt | None:
    """The check-in is due: record the plan and the attempt, and text the patient (unless they opted out).
    Runs inside the firing of the CHECKIN_DUE timer."""
    episode = Episode.objects.select_related("patient").get(pk=episode_id)
    patient = episode.patient
    now = timezone.now()
    if in_quiet_hours(now, patient.timezone):
        # Fired late (the system was down): wait for the morning rather than text at 3 a.m.
        due_at = next_allowed_moment(now, patient.timezone)
        timer_reschedule(kind=TimerKind.CHECKIN_DUE, subject_id=episode.pk, due_at=due_at)
        return None
    plan, _ = OutreachPlan.objects.get_or_create(episode=episode, status=OutreachPlan.Status.ACTIVE)
    attempt = OutreachAttempt.objects.create(
        plan=plan,
        attempt_number=plan.attempts.count() + 1,
        scheduled_at=scheduled_at,
        attempted_at=now,
        status=OutreachAttempt.Status.SENT,
    )
    emit(
        "checkin/scheduled",
        {"episode_id": episode.pk, "outreach_plan_id": plan.pk, "outreach_attempt_id": attempt.pk},
        idempotency_key=f"checkin-scheduled:{attempt.pk}",
    )
    if not patient.sms_consent:
        # The patient texted STOP: no SMS, and a nurse calls instead (a documented attempt still counts for TCM).
        attempt.status, attempt.outcome = OutreachAttempt.Status.CANCELLED, "Patient opted out of SMS"
        attempt.save(update_fields=["status", "outcome", "updated_at"])
        emit(
            "checkin/no_answer",
            {"episode_id": episode.pk, "outreach_attempt_id": attempt.pk, "reason": "SMS_OPT_OUT"},
            idempotency_key=f"no-answer:{attempt.pk}",
        )
        return attempt
    notification_request(
        notification_type=NotificationType.CHECKIN,
        recipient_patient_id=patient.pk,
        episode_id=episode.pk,
        dedupe_key=checkin_key(attempt_id=attempt.pk),
    )
    timer_schedule(
        kind=TimerKind.CHECKIN_NO_ANSWER,
        subject_id=attempt.pk,
        due_at=now + dt.timedelta(seconds=settings.CHECKIN_RESPONSE_WINDOW),
    )
    return attempt


def checkin_no_answer(*, attempt_id: uuid.UUID) -> None:
    """The response window is over. If the patient has not answered, a nurse must call (`checkin/no_answer`)."""
    attempt = OutreachAttempt.objects.select_for_update().select_related("plan").get(pk=attempt_id)
    if attempt.status != OutreachAttempt.Status.SENT:
        return
    attempt.status, attempt.outcome = OutreachAttempt.Status.NO_ANSWER, "No response within the window"
    attempt.save(update_fields=["status", "outcome", "updated_at"])
    emit(
        "checkin/no_answer",
        {"episode_id": attempt.plan.episode_id, "outreach_attempt_id": attempt.pk, "reason": "NO_RESPONSE"},
        idempotency_key=f"no-answer:{attempt.pk}",
    )


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


@transaction.atomic
def interaction_response_record(
    *, interaction: AgentInteraction, text: str, severity: str, reason_codes: list[str]
) -> InteractionResponse:
    """Record one graded answer. Its save emits `interaction/response_received` (care_events/signals.py), whose
    handler escalates a worrying one (tasks_app.services.escalation.response_escalate).

    An answer also means the patient was reached: the episode's open check-in attempts become ANSWERED and their
    no-answer timers are cancelled, so no "call the patient" task is created after all.
    """
    interaction = AgentInteraction.objects.select_for_update().get(pk=interaction.pk)
    if interaction.status not in OPEN_INTERACTION:
        raise ValidationError({"interaction": "This interaction is finished; start a new one."})
    now = timezone.now()
    response = InteractionResponse.objects.create(
        interaction=interaction, text=text, severity=severity, reason_codes=reason_codes
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
        idempotency_key=f"patient-replied:{message.pk}",
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
        idempotency_key=f"escalated:{task_id}",
    )


@transaction.atomic
def interaction_complete(*, interaction: AgentInteraction, outcome: str, summary: str = "") -> AgentInteraction:
    """Complete the check-in; the save emits `checkin/completed`. Completing twice changes nothing."""
    interaction = AgentInteraction.objects.select_for_update().get(pk=interaction.pk)
    if interaction.status == AgentInteraction.Status.COMPLETED:
        return interaction
    if interaction.status not in OPEN_INTERACTION:
        raise ValidationError({"interaction": "This interaction was abandoned and cannot be completed."})
    interaction.status = AgentInteraction.Status.COMPLETED
    interaction.completed_at = timezone.now()
    interaction.outcome, interaction.summary = outcome, summary
    interaction.save()
    OutreachPlan.objects.filter(episode_id=interaction.episode_id, status=OutreachPlan.Status.ACTIVE).update(
        status=OutreachPlan.Status.COMPLETED, updated_at=timezone.now()
    )
    return interaction
