"""A synthetic year of history (`manage.py seed_history`): nurses and their shifts, discharges, check-ins answered or
not, the agent's graded answers, escalation tasks acknowledged and resolved (some after their SLA), nurses' calls,
and, once the ADT feed's field exists, readmissions; for demos and for the reports' benchmark (bench/reports.py).

It writes rows in bulk, as the services leave them once the work is over, and not through the services themselves:
a service called for a discharge a year ago schedules a check-in, SLA timers and nurses' messages *now* (they would
all fire at once and message real phones). So nothing here records an event, a timer or a notification; every task
is closed. The figures read exactly the rows written here (docs/reports.md)."""

import contextlib
import dataclasses
import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone

from care_events.choices import Severity
from care_events.models import (
    AgentInteraction,
    Condition,
    Episode,
    InteractionResponse,
    OutreachAttempt,
    OutreachPlan,
    Patient,
)
from tasks_app.care_team import care_team_zone
from tasks_app.models import (
    DEFAULT_CARE_TEAM,
    ActionType,
    CallOutcome,
    EscalationTask,
    Nurse,
    NurseShift,
    ResolutionOutcome,
    TaskNote,
)

FIRST_NAMES = ["Ana", "Ben", "Carla", "Dev", "Elena", "Femi", "Grace", "Hiro", "Ines", "Jon", "Kemi", "Luis", "Mei"]
LAST_NAMES = ["Alvarez", "Brown", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jones", "Khan"]
# The shifts nurses work (care team's hours) and the SLA of each severity (the product's defaults).
SHIFTS = ((7, 8), (15, 8), (23, 8))
SLA_MINUTES = {Severity.CRITICAL: 30, Severity.HIGH: 120, Severity.MODERATE: 480, Severity.LOW: 1440}
SEVERITIES = ([Severity.LOW] * 12) + ([Severity.MODERATE] * 5) + ([Severity.HIGH] * 2) + [Severity.CRITICAL]
ACTION_OF = {
    Severity.CRITICAL: [ActionType.URGENT_HANDOFF, ActionType.EMERGENCY_GUIDANCE],
    Severity.HIGH: [ActionType.NURSE_CALLBACK_2H, ActionType.MEDICATION_REVIEW],
    Severity.MODERATE: [ActionType.NURSE_CALLBACK_24H, ActionType.SCHEDULE_FOLLOWUP, ActionType.MEDICATION_REVIEW],
    Severity.LOW: [ActionType.SCHEDULE_FOLLOWUP, ActionType.MEDICATION_REVIEW],
}
CHECKIN_DAYS = (1, 3, 7, 14)  # after discharge
BATCH = 5000


@dataclasses.dataclass
class HistoryCounts:
    nurses: int = 0
    shifts: int = 0
    discharges: int = 0
    answers: int = 0
    tasks: int = 0
    breaches: int = 0
    calls: int = 0
    readmissions: int = 0


@dataclasses.dataclass
class _Rows:
    by_model: dict[type[models.Model], list[models.Model]] = dataclasses.field(default_factory=dict)

    def add(self, row: models.Model) -> None:
        self.by_model.setdefault(type(row), []).append(row)


def _teams() -> dict[str, str]:
    """facility → care team, for every listed facility."""
    return {code: settings.CARE_TEAM_BY_FACILITY.get(code, DEFAULT_CARE_TEAM) for code in settings.CARE_FACILITIES}


class _Roster:
    """Nurses of each team in three groups, one per shift; each works five days in seven."""

    def __init__(self, nurses_by_team: dict[str, list[Nurse]]) -> None:
        self.nurses_by_team = nurses_by_team

    def shifts(self, first: dt.date, last: dt.date) -> Iterator[NurseShift]:
        zone = care_team_zone()
        day = first
        while day <= last:
            for nurses in self.nurses_by_team.values():
                for i, nurse in enumerate(nurses):
                    if (day.toordinal() + i) % 7 < 5:
                        hour, hours = SHIFTS[i % 3]
                        start = dt.datetime.combine(day, dt.time(hour), tzinfo=zone)
                        yield NurseShift(nurse=nurse, starts_at=start, ends_at=start + dt.timedelta(hours=hours))
            day += dt.timedelta(days=1)

    def on_shift(self, team: str, moment: dt.datetime, rng: random.Random) -> Nurse | None:
        local = moment.astimezone(care_team_zone())
        group = 0 if 7 <= local.hour < 15 else 1 if 15 <= local.hour < 23 else 2
        day = local.date() if local.hour >= 7 else local.date() - dt.timedelta(days=1)
        nurses = [
            nurse
            for i, nurse in enumerate(self.nurses_by_team.get(team, []))
            if i % 3 == group and (day.toordinal() + i) % 7 < 5
        ]
        return rng.choice(nurses) if nurses else None


def _make_nurses(count: int, teams: list[str], rng: random.Random) -> dict[str, list[Nurse]]:
    user_model = get_user_model()
    batch = uuid.uuid4().hex[:6]
    by_team: dict[str, list[Nurse]] = {team: [] for team in teams}
    for n in range(count):
        user = user_model.objects.create_user(
            username=f"history-{batch}-{n}",
            first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES),
            is_active=False,  # history's nurses never log in
        )
        team = teams[n % len(teams)]
        nurse = Nurse.objects.create(
            user=user, phone=f"+1202555{n % 10000:04d}", email=f"{user.username}@history.invalid", care_team=team
        )
        by_team[team].append(nurse)
    return by_team


def _after_quiet_hours(moment: dt.datetime, zone: Any) -> dt.datetime:
    local = moment.astimezone(zone)
    start, end = settings.QUIET_HOURS_START, settings.QUIET_HOURS_END
    if start != end and (local.hour >= start or local.hour < end):
        day = local.date() + dt.timedelta(days=1) if local.hour >= start else local.date()
        local = dt.datetime.combine(day, dt.time(end), tzinfo=zone)
    return local


def _minutes(rng: random.Random, median: float) -> dt.timedelta:
    return dt.timedelta(minutes=rng.lognormvariate(0, 0.9) * median)


class _Writer:
    def __init__(self, *, rng: random.Random, roster: _Roster, outcomes: list[ResolutionOutcome], now: dt.datetime):
        self.rng, self.roster, self.outcomes, self.now = rng, roster, outcomes, now
        self.rows = _Rows()
        self.counts = HistoryCounts()
        self.author = get_user_model().objects.filter(is_superuser=True).first() or next(
            iter(n.user for nurses in roster.nurses_by_team.values() for n in nurses)
        )

    def task(
        self, *, episode: Episode, team: str, created: dt.datetime, severity: str, action: str, **more: Any
    ) -> EscalationTask | None:
        rng, sla = self.rng, SLA_MINUTES[Severity(severity)]
        nurse = self.roster.on_shift(team, created, rng)
        acknowledged = created + _minutes(rng, sla * 0.15)
        resolved = acknowledged + _minutes(rng, sla * 0.45)
        if resolved > self.now:
            return None  # history ends now: only closed tasks
        breach = created + dt.timedelta(minutes=sla)
        task = EscalationTask(
            id=uuid.uuid4(),
            episode=episode,
            patient_id=episode.patient_id,
            care_team=team,
            severity=severity,
            priority="URGENT" if severity == Severity.CRITICAL else "NORMAL",
            action_type=action,
            sla_minutes=sla,
            status=EscalationTask.Status.RESOLVED,
            assigned_to=nurse,
            assigned_at=created if nurse else None,
            acknowledged_at=acknowledged if nurse else None,
            resolved_at=resolved,
            resolution="Synthetic history.",
            resolution_outcome=rng.choice(self.outcomes) if self.outcomes and rng.random() < 0.85 else None,
            sla_warning_at=created + dt.timedelta(minutes=sla * 0.75),
            sla_breach_at=breach,
            created_at=created,
            **more,
        )
        self.rows.add(task)
        self.counts.tasks += 1
        self.counts.breaches += resolved > breach
        return task

    def stay(
        self, patient: Patient, visit: str, admitted: dt.datetime, discharged: dt.datetime | None, team: str
    ) -> tuple[Episode, bool]:
        """One hospital stay as the ADT feed records it (the hospital's visit number), and once discharged its four
        check-ins. Returns the episode and whether the first check-in reached the patient."""
        episode = Episode(
            id=uuid.uuid4(),
            patient=patient,
            admitted_at=admitted,
            discharged_at=discharged,
            condition=self.rng.choice(Condition.values),
            facility=patient.facility,
            visit_number=visit,
        )
        self.rows.add(episode)
        if discharged is None:
            return episode, False
        plan = OutreachPlan(id=uuid.uuid4(), episode=episode, status=OutreachPlan.Status.COMPLETED)
        self.rows.add(plan)
        reached = [self.checkin(episode, plan, number, team) for number in (1, 2, 3, 4)]
        return episode, reached[0]

    def checkin(self, episode: Episode, plan: OutreachPlan, number: int, team: str) -> bool:
        """One check-in: answered (the agent's interaction, graded answers, tasks for the worrying ones) or not (a
        nurse's call task). Returns whether the patient was reached."""
        rng, zone = self.rng, care_team_zone()
        assert episode.discharged_at is not None
        sent = _after_quiet_hours(episode.discharged_at + dt.timedelta(days=CHECKIN_DAYS[number - 1]), zone)
        if sent > self.now:
            return False
        answered = rng.random() < 0.72
        answer_at = sent + _minutes(rng, 40)
        attempt = OutreachAttempt(
            id=uuid.uuid4(),
            plan=plan,
            attempt_number=number,
            scheduled_at=sent,
            attempted_at=sent,
            status=OutreachAttempt.Status.ANSWERED if answered else OutreachAttempt.Status.NO_ANSWER,
            answered_at=answer_at if answered else None,
            created_at=sent,
        )
        self.rows.add(attempt)
        if not answered:
            return self._call(episode, team, sent + dt.timedelta(seconds=settings.CHECKIN_RESPONSE_WINDOW))
        interaction = AgentInteraction(
            id=uuid.uuid4(),
            episode=episode,
            outreach_attempt=attempt,
            status=AgentInteraction.Status.COMPLETED,
            started_at=answer_at,
            completed_at=answer_at + dt.timedelta(minutes=6),
            created_at=answer_at,
        )
        self.rows.add(interaction)
        for q in range(2):
            severity = rng.choice(SEVERITIES)
            received = answer_at + dt.timedelta(minutes=2 * q)
            self.rows.add(
                InteractionResponse(
                    id=uuid.uuid4(),
                    interaction=interaction,
                    text="Synthetic answer.",
                    severity=severity,
                    received_at=received,
                )
            )
            self.counts.answers += 1
            if severity != Severity.LOW or rng.random() < 0.25:
                self.task(
                    episode=episode,
                    team=team,
                    created=received,
                    severity=severity,
                    action=rng.choice(ACTION_OF[Severity(severity)]),
                    interaction=interaction,
                )
        return True

    def _call(self, episode: Episode, team: str, created: dt.datetime) -> bool:
        task = self.task(
            episode=episode,
            team=team,
            created=created,
            severity=Severity.MODERATE,
            action=ActionType.CALL_PATIENT_NO_ANSWER,
        )
        if task is None:
            return False
        reached = self.rng.random() < 0.6
        outcome = CallOutcome.SPOKE_WITH_PATIENT if reached else CallOutcome.NO_ANSWER
        assert task.resolved_at is not None
        self.rows.add(TaskNote(task=task, author=self.author, call_outcome=outcome, created_at=task.resolved_at))
        self.counts.calls += 1
        return reached


def _discharge_moments(count: int, first: dt.date, days: int, rng: random.Random) -> list[dt.datetime]:
    zone = care_team_zone()
    moments = []
    for _ in range(count):
        day = first + dt.timedelta(days=rng.randrange(days))
        if day.weekday() >= 5 and rng.random() < 0.6:  # fewer discharges at weekends
            day -= dt.timedelta(days=day.weekday() - 4)
        minute = int(rng.triangular(8 * 60, 21 * 60, 13 * 60))
        moments.append(dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=zone))
    return sorted(moments)


def history_seed(*, discharges: int, days: int, nurses: int, seed: int = 1) -> HistoryCounts:
    """Write `discharges` discharges spread over the `days` before today, with their check-ins, answers, tasks and
    calls, and `nurses` nurses (in the listed facilities' care teams) with their shifts."""
    rng, now = random.Random(seed), timezone.now()
    today = now.astimezone(care_team_zone()).date()
    first = today - dt.timedelta(days=days)
    teams_of = _teams()
    teams = sorted(set(teams_of.values()))
    with transaction.atomic():
        roster = _Roster(_make_nurses(nurses, teams, rng))
        shifts = list(roster.shifts(first - dt.timedelta(days=1), today))
        NurseShift.objects.bulk_create(shifts, batch_size=BATCH)
        writer = _Writer(rng=rng, roster=roster, outcomes=list(ResolutionOutcome.objects.all()), now=now)
        writer.counts.nurses, writer.counts.shifts = nurses, len(shifts)
        for n, discharged in enumerate(_discharge_moments(discharges, first, days, rng)):
            facility = rng.choice(list(teams_of))
            patient = Patient(
                id=uuid.uuid4(),
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                date_of_birth=dt.date(1930 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28)),
                phone=f"+1202555{n % 10000:04d}",
                mrn=f"H{seed:03d}{n:07d}",
                facility=facility,
            )
            writer.rows.add(patient)
            admitted = discharged - dt.timedelta(days=2 + rng.randrange(6))
            episode, reached = writer.stay(patient, f"V{seed:03d}{n:07d}", admitted, discharged, teams_of[facility])
            # Back in hospital within 30 days, more often when the first check-in reached nobody: the feed's mark
            # (care_events.services.episodes), the readmission a stay of its own, followed up once discharged.
            back = discharged + dt.timedelta(days=rng.randrange(2, 30), hours=rng.randrange(24))
            if rng.random() < (0.12 if reached else 0.2) and back < now:
                out = back + dt.timedelta(days=2 + rng.randrange(5))
                episode.readmission, _ = writer.stay(
                    patient, f"V{seed:03d}{n:07d}R", back, out if out < now else None, teams_of[facility]
                )
                writer.counts.readmissions += 1
            writer.counts.discharges += 1
            if len(writer.rows.by_model.get(EscalationTask, [])) >= BATCH:
                _flush(writer.rows)
        _flush(writer.rows)
    _analyze()
    return writer.counts


def _analyze() -> None:
    """Fresh planner statistics for the tables just filled: without them PostgreSQL plans the reports' joins for the
    empty tables it last saw (seconds instead of a fraction of one, until autovacuum gets round to them)."""
    with connection.cursor() as cursor:
        for model in (*_ORDER, NurseShift):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


# Parents before children.
_ORDER = (
    Patient,
    Episode,
    OutreachPlan,
    OutreachAttempt,
    AgentInteraction,
    InteractionResponse,
    EscalationTask,
    TaskNote,
)


def _flush(rows: _Rows) -> None:
    for model in _ORDER:
        batch = rows.by_model.pop(model, [])
        if batch:
            manager: Any = model._default_manager
            with _moments_kept(model, batch):
                manager.bulk_create(batch, batch_size=BATCH)


@contextlib.contextmanager
def _moments_kept(model: type[models.Model], batch: list[models.Model]) -> Iterator[None]:
    """bulk_create would stamp every `auto_now_add` field (created_at, received_at…) with the present: history keeps
    the moment it was given (the present where none was)."""
    stamped = [f for f in model._meta.concrete_fields if getattr(f, "auto_now_add", False)]
    now = timezone.now()
    for row in batch:
        for field in stamped:
            if getattr(row, field.attname) is None:
                setattr(row, field.attname, now)
    for field in stamped:
        field.auto_now_add = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for field in stamped:
            field.auto_now_add = True  # type: ignore[attr-defined]
