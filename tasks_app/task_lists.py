"""The reads behind the board and the worklist (docs/screens.md, "Urgency first" and "Find and narrow"): open tasks
in the one urgency order, computed in SQL so that a page of them is a LIMIT; the filters and the patient search;
the tiles' counts over every task the user reaches, whatever page or filter she is on."""

import contextlib
import dataclasses
import datetime as dt
import re

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, F, FloatField, IntegerField, Max, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Extract, Floor

from care_events.choices import Severity
from care_events.validators import phone_to_e164
from tasks_app.care_team import SLA_AT_RISK_FRACTION, SLA_SOON_FRACTION
from tasks_app.models import OPEN_TASK_STATUSES, ActionType, EscalationTask
from tasks_app.selectors import tasks_visible_in_admin

UNACKNOWLEDGED_STATUSES = (EscalationTask.Status.OPEN, EscalationTask.Status.ASSIGNED)

# Severity as a rank, hand-offs with CRITICAL: the tie-breaker of the urgency order.
_SEVERITY_RANK = Case(
    When(Q(severity=Severity.CRITICAL) | Q(action_type=ActionType.URGENT_HANDOFF), then=Value(0)),
    When(severity=Severity.HIGH, then=Value(1)),
    When(severity=Severity.MODERATE, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


def with_sla_used(tasks: QuerySet[EscalationTask], *, now: dt.datetime) -> QuerySet[EscalationTask]:
    """Annotate `sla_used`: the fraction of its SLA a task has used at `now` (0 at creation, 1 at its breach), as
    tasks_app.care_team.sla_used_fraction computes it for one task."""
    seconds_left = Extract(F("sla_breach_at") - Value(now), "epoch")
    return tasks.annotate(
        sla_used=Value(1.0) - Cast(seconds_left, FloatField()) / (Cast(F("sla_minutes"), FloatField()) * 60.0)
    )


def by_urgency(tasks: QuerySet[EscalationTask], *, now: dt.datetime) -> QuerySet[EscalationTask]:
    """The one urgency order: breached tasks first (CRITICAL and hand-offs first among them, then the most overdue
    for its SLA); then the rest by the fraction of their SLA left, least first, in whole percents, severity breaking
    ties (CRITICAL and hand-offs first); then the nearest breach."""
    breached = Q(sla_breach_at__lte=now)
    return (
        with_sla_used(tasks, now=now)
        .annotate(
            is_breached=Case(When(breached, then=Value(0)), default=Value(1), output_field=IntegerField()),
            severity_rank=_SEVERITY_RANK,
            breached_rank=Case(When(breached, then=_SEVERITY_RANK), default=Value(0), output_field=IntegerField()),
            percent_used=Floor(F("sla_used") * 100),
        )
        .order_by("is_breached", "breached_rank", F("percent_used").desc(), "severity_rank", "sla_breach_at", "pk")
    )


def open_tasks_by_urgency(
    *, user: User | AnonymousUser, now: dt.datetime, with_answers: bool = True
) -> QuerySet[EscalationTask]:
    """The open tasks a user reaches, most urgent first, with what the screens show of each (what the patient said
    too, unless `with_answers` is False: the board does not show it)."""
    tasks = (
        tasks_visible_in_admin(user=user)
        .filter(status__in=OPEN_TASK_STATUSES)
        .select_related("patient", "episode", "assigned_to__user")
    )
    if with_answers:
        tasks = tasks.select_related("interaction").prefetch_related("interaction__responses")
    return by_urgency(tasks, now=now)


@dataclasses.dataclass(frozen=True)
class TaskFilters:
    """What a user narrowed the list to; every field empty: every open task she reaches."""

    holder: str = ""  # "", "mine", "unassigned", or a nurse's id
    breached: bool = False
    unacknowledged: bool = False
    severity: str = ""
    care_team: str = ""
    action_type: str = ""
    search: str = ""


def tasks_filtered(
    tasks: QuerySet[EscalationTask], *, filters: TaskFilters, user: User | AnonymousUser, now: dt.datetime
) -> QuerySet[EscalationTask]:
    if filters.holder == "mine":
        tasks = tasks.filter(assigned_to__user=user) if user.is_authenticated else tasks.none()
    elif filters.holder == "unassigned":
        tasks = tasks.filter(assigned_to=None)
    elif filters.holder:
        tasks = tasks.filter(assigned_to_id=int(filters.holder))
    if filters.breached:
        tasks = tasks.filter(sla_breach_at__lte=now)
    if filters.unacknowledged:
        tasks = tasks.filter(status__in=UNACKNOWLEDGED_STATUSES)
    if filters.severity:
        tasks = tasks.filter(severity=filters.severity)
    if filters.care_team:
        tasks = tasks.filter(care_team=filters.care_team)
    if filters.action_type:
        tasks = tasks.filter(action_type=filters.action_type)
    if filters.search:
        tasks = tasks.filter(patient_search(filters.search))
    return tasks


# Dates of birth as people type them (US order first: the care team's own), e.g. 1948-03-02, 3/2/1948, 2 Mar 1948.
DATE_OF_BIRTH_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m-%d-%Y",
    "%m.%d.%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)


def parse_date_of_birth(text: str) -> dt.date | None:
    for pattern in DATE_OF_BIRTH_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def patient_search(text: str) -> Q:
    """Whose patient matches what was typed: every word a first or last name (its start), or the whole an MRN, a
    phone number as people write it ((202) 555-0143, 202.555.0143, +1 202 555 0143) or a date of birth."""
    text = " ".join(text.split())
    words = re.findall(r"[^\W\d_][\w'-]*", text)
    found = Q(patient__mrn__iexact=text)
    if words and len(words) == len(text.split()):
        by_name = Q()
        for word in words:
            by_name &= Q(patient__first_name__istartswith=word) | Q(patient__last_name__istartswith=word)
        found |= by_name
    born = parse_date_of_birth(text)
    if born is not None:
        found |= Q(patient__date_of_birth=born)
    if sum(char.isdigit() for char in text) >= 7:
        with contextlib.suppress(ValidationError):  # not a phone number: the other readings stand
            found |= Q(patient__phone=phone_to_e164(text))
    return found


@dataclasses.dataclass(frozen=True)
class OpenTaskCounts:
    """The tiles: over every open task the user reaches (not a page, not a filter)."""

    total: int
    breached: int
    at_risk: int
    soon: int
    on_time: int
    unassigned: int
    unacknowledged: int
    newest_critical: dt.datetime | None  # the newest CRITICAL task's creation: the page's alert compares it

    @property
    def title_prefix(self) -> str:
        """ "(2 breached, 3 not acknowledged) ": what a tab shows first."""
        return f"({self.breached} breached, {self.unacknowledged} not acknowledged) "


def open_task_counts(*, user: User | AnonymousUser, now: dt.datetime) -> OpenTaskCounts:
    tasks = with_sla_used(tasks_visible_in_admin(user=user).filter(status__in=OPEN_TASK_STATUSES), now=now)
    breached = Q(sla_breach_at__lte=now)
    row = tasks.aggregate(
        total=Count("pk"),
        breached=Count("pk", filter=breached),
        at_risk=Count("pk", filter=~breached & Q(sla_used__gte=SLA_AT_RISK_FRACTION)),
        soon=Count("pk", filter=~breached & Q(sla_used__gte=SLA_SOON_FRACTION, sla_used__lt=SLA_AT_RISK_FRACTION)),
        on_time=Count("pk", filter=~breached & Q(sla_used__lt=SLA_SOON_FRACTION)),
        unassigned=Count("pk", filter=Q(assigned_to=None)),
        unacknowledged=Count("pk", filter=Q(status__in=UNACKNOWLEDGED_STATUSES)),
        newest_critical=Max("created_at", filter=Q(severity=Severity.CRITICAL)),
    )
    return OpenTaskCounts(**row)


def open_task_care_teams() -> list[str]:
    """The care teams that have open tasks (the board's team filter)."""
    teams = EscalationTask.objects.filter(status__in=OPEN_TASK_STATUSES).values_list("care_team", flat=True)
    return sorted(set(teams.order_by().distinct()))
