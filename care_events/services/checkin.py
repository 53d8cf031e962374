"""The check-in: scheduled after the discharge, the SMS when it is due, the no-answer follow-up."""

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from care_events.choices import NotificationType
from care_events.models import (
    Episode,
    OutreachAttempt,
    OutreachPlan,
)
from care_events.notify import checkin_key, notification_request
from care_events.platform.bus.dispatch import emit
from care_events.platform.bus.models import Timer, TimerKind
from care_events.platform.bus.timers import timer_reschedule, timer_schedule, timers_restart
from care_events.quiet_hours import in_quiet_hours, next_allowed_moment

logger = logging.getLogger(__name__)

# HL7 table 0112 (discharge disposition): expired (20), expired at home, in a facility, place unknown (40-42).
EXPIRED_DISPOSITIONS = frozenset({"20", "40", "41", "42"})


def checkin_due_at(*, discharged_at: dt.datetime, tz_name: str) -> dt.datetime:
    return next_allowed_moment(discharged_at + dt.timedelta(seconds=settings.CHECKIN_DELAY), tz_name)


@transaction.atomic
def checkin_schedule(*, episode_id: uuid.UUID) -> Timer | None:
    """The check-in timer of a discharged episode: CHECKIN_DELAY after the discharge, outside the patient's quiet
    hours. One per episode: scheduling again finds the first, except after a cancelled discharge (HL7 A13), whose
    timer was cancelled or has fired: the discharge that follows it arms the timer again, for its own time. None
    when an interaction with the patient has started since the discharge: the patient was reached, so there is
    nothing to check in about (`interaction_start`)."""
    # Locked, as interaction_start locks it: an interaction started between the discharge and this handler either
    # committed before (and is seen below) or waits and then cancels the timer made here.
    episode = Episode.objects.select_for_update().select_related("patient").get(pk=episode_id)
    if episode.discharged_at is None:
        # Only episode_discharge emits the event: the discharge was cancelled since (episode_discharge_cancel).
        return None
    if episode.discharge_disposition in EXPIRED_DISPOSITIONS:
        return None  # the patient died in hospital: nobody to check in with
    if episode.interactions.filter(started_at__gte=episode.discharged_at).exists():
        return None
    due_at = checkin_due_at(discharged_at=episode.discharged_at, tz_name=episode.patient.timezone)
    if episode.discharge_cancelled_at is not None:
        # A discharge after a cancelled one: the timer was cancelled with it, or fired for it. Armed again for this
        # discharge, unless it is armed for it already (the cancelled discharge's own handler, run late, got here).
        timer = Timer.objects.filter(kind=TimerKind.CHECKIN_DUE, subject_id=episode.pk).first()
        if timer is None or timer.due_at != due_at or timer.cancelled_at is not None or timer.failed_at is not None:
            timers_restart(subject_id=episode.pk, due=[(TimerKind.CHECKIN_DUE, due_at)])
            timer = Timer.objects.get(kind=TimerKind.CHECKIN_DUE, subject_id=episode.pk)
        return timer
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
        once_for=(attempt.pk,),
    )
    if not patient.sms_consent:
        # The patient texted STOP: no SMS, and a nurse calls instead (a documented attempt still counts for TCM).
        attempt.status, attempt.outcome = OutreachAttempt.Status.CANCELLED, "Patient opted out of SMS"
        attempt.save(update_fields=["status", "outcome", "updated_at"])
        emit(
            "checkin/no_answer",
            {"episode_id": episode.pk, "outreach_attempt_id": attempt.pk, "reason": "SMS_OPT_OUT"},
            once_for=(attempt.pk,),
        )
        return attempt
    notification_request(
        notification_type=NotificationType.CHECKIN,
        recipient_patient_id=patient.pk,
        episode_id=episode.pk,
        dedupe_key=checkin_key(attempt_id=attempt.pk),
    )
    answer_by = now + dt.timedelta(seconds=settings.CHECKIN_RESPONSE_WINDOW)
    timer_schedule(kind=TimerKind.CHECKIN_NO_ANSWER, subject_id=attempt.pk, due_at=answer_by)
    emit(
        "checkin/sent",
        {"episode_id": episode.pk, "outreach_attempt_id": attempt.pk, "answer_by": answer_by},
        once_for=(attempt.pk,),
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
        once_for=(attempt.pk,),
    )
