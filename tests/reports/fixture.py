"""A small history whose figures are computed by hand in test_figures.py (times are New York's, EST in November
2026; the care team's zone in the tests). Its edges: a Friday discharge, a public holiday (Thanksgiving, Thu 26
Nov; Veterans Day, Wed 11 Nov), a configured closure (Mon 9 Nov), a discharge late in the evening (23:30, inside
quiet hours: a day later in UTC), a contact on a weekend, a nurse call that reached nobody, a discharge not yet due."""

import dataclasses
import datetime as dt
import zoneinfo

from care_events.choices import Severity
from care_events.models import InteractionResponse, OutreachAttempt
from tasks_app.models import ActionType, CallOutcome, EscalationTask, ResolutionOutcome, TaskNote
from tests.care_events.factories import (
    AgentInteractionFactory,
    EpisodeFactory,
    InteractionResponseFactory,
    OutreachAttemptFactory,
    OutreachPlanFactory,
)
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory, UserFactory

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
CLOSURES = ["GENERAL:2026-11-09"]
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=NEW_YORK)


def at(day: str, time: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=NEW_YORK)


def _discharge(when: dt.datetime, last_name: str):
    return EpisodeFactory(
        admitted_at=when - dt.timedelta(days=3), discharged_at=when, patient__last_name=last_name, patient__mrn=""
    )


def _answer(episode, when: dt.datetime) -> None:
    response = InteractionResponseFactory(interaction=AgentInteractionFactory(episode=episode))
    InteractionResponse.objects.filter(pk=response.pk).update(received_at=when)


def _answered_attempt(episode, when: dt.datetime) -> None:
    attempt = OutreachAttemptFactory(plan=OutreachPlanFactory(episode=episode), scheduled_at=when)
    OutreachAttempt.objects.filter(pk=attempt.pk).update(status="ANSWERED", answered_at=when)


def _call(episode, when: dt.datetime, outcome: str, author) -> None:
    """A LOW call task created an hour before the call, resolved by it, held by nobody."""
    task = _task(
        severity=Severity.LOW,
        sla=1440,
        created=when - dt.timedelta(hours=1),
        action=ActionType.CALL_PATIENT_NO_ANSWER,
        episode=episode,
        resolved_at=when,
    )
    note = TaskNote.objects.create(task=task, author=author, call_outcome=outcome)
    TaskNote.objects.filter(pk=note.pk).update(created_at=when)


@dataclasses.dataclass
class History:
    nurse_x: object
    nurse_y: object


def _task(
    *, severity, sla, created, action=ActionType.NURSE_CALLBACK_2H, nurse=None, episode=None, **moments
) -> EscalationTask:
    made = {"episode": episode} if episode is not None else {}
    task = EscalationTaskFactory(severity=severity, sla_minutes=sla, action_type=action, **made)
    breach = created + dt.timedelta(minutes=sla)
    fields = {
        "created_at": created,
        "sla_warning_at": created + dt.timedelta(minutes=sla * 0.75),
        "sla_breach_at": breach,
        **moments,
    }
    if nurse is not None:
        fields.update(assigned_to=nurse, assigned_at=created, status="ASSIGNED")
    if moments.get("acknowledged_at"):
        fields["status"] = "ACKNOWLEDGED"
    if moments.get("resolved_at"):
        fields["status"] = "RESOLVED"
    if moments.get("cancelled_at"):
        fields["status"] = "CANCELLED"
    EscalationTask.objects.filter(pk=task.pk).update(**fields)
    return task


def make_history() -> History:
    caller = UserFactory()
    # Week of Mon 2 Nov.
    a = _discharge(at("2026-11-06", "14:00"), "Friday-In-Time")  # Fri: deadline Thu 12 (9 closed, 11 a holiday)
    _answer(a, at("2026-11-12", "10:00"))
    b = _discharge(at("2026-11-06", "14:00"), "Friday-Late")
    _answer(b, at("2026-11-13", "09:00"))
    e = _discharge(at("2026-11-02", "23:30"), "Late-Evening")  # Mon 23:30 (Tue in UTC): deadline Wed 4 midnight
    _answer(e, at("2026-11-04", "22:00"))
    f = _discharge(at("2026-11-02", "10:00"), "Never-Reached")
    _call(f, at("2026-11-02", "12:00"), CallOutcome.NO_ANSWER, caller)  # an attempt, not a contact
    # Week of Mon 23 Nov: Thanksgiving.
    c = _discharge(at("2026-11-25", "10:00"), "Thanksgiving-In-Time")  # Wed: Fri 27, Mon 30
    _call(c, at("2026-11-30", "16:00"), CallOutcome.SPOKE_WITH_PATIENT, caller)
    d = _discharge(at("2026-11-25", "11:00"), "Thanksgiving-Late")
    _answered_attempt(d, at("2026-12-01", "09:00"))
    # A Saturday contact counts (the days only bound the deadline): week of 16 Nov.
    s = _discharge(at("2026-11-20", "17:00"), "Weekend-Answer")  # Fri: deadline Tue 24
    _answer(s, at("2026-11-21", "08:00"))
    # Week of Mon 30 Nov: not yet due at NOW (deadline Wed 2 Dec).
    _discharge(at("2026-11-30", "09:00"), "Pending")

    x, y = (
        NurseFactory(user__first_name="Xena", user__last_name="Ames"),
        NurseFactory(user__first_name="Yan", user__last_name="Bo"),
    )
    advice = ResolutionOutcome.objects.order_by("position").first()
    _task(
        severity=Severity.HIGH,
        sla=120,
        created=at("2026-11-03", "10:00"),
        nurse=x,
        acknowledged_at=at("2026-11-03", "10:10"),
        resolved_at=at("2026-11-03", "11:00"),
        resolution_outcome=advice,
    )
    _task(
        severity=Severity.HIGH,
        sla=120,
        created=at("2026-11-03", "14:00"),
        nurse=x,
        acknowledged_at=at("2026-11-03", "14:20"),
        resolved_at=at("2026-11-03", "17:00"),
    )
    _task(
        severity=Severity.CRITICAL, sla=30, created=at("2026-11-04", "23:00"), nurse=y, action=ActionType.URGENT_HANDOFF
    )
    _task(
        severity=Severity.MODERATE, sla=480, created=at("2026-11-05", "09:00"), cancelled_at=at("2026-11-05", "09:30")
    )
    _task(severity=Severity.LOW, sla=1440, created=at("2026-11-30", "09:00"))  # due Tue 1 Dec 09:00, still open
    return History(nurse_x=x, nurse_y=y)
