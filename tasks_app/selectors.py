import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from care_events.platform.bus.models import Event
from tasks_app.care_team import care_team_time, care_team_zone
from tasks_app.models import OPEN_TASK_STATUSES, EscalationTask, Nurse, NurseShift, ResolutionOutcome


def nurse_for_user(*, user: User | AnonymousUser) -> Nurse | None:
    """The caller's own nurse profile; None for an account without one (the agent's, an administrator's)."""
    return getattr(user, "nurse", None) if user.is_authenticated else None


def acting_nurse_for(*, user: User | AnonymousUser) -> Nurse | None:
    """Whom a user's move on a task is made as: None for who may see every task (a charge nurse acts for the
    assignee), else her own nurse profile (a nurse reaches only her own tasks, and acts as herself)."""
    return None if user.has_perm("tasks_app.view_all_tasks") else nurse_for_user(user=user)


def nurses_by_phone(*, phone: str) -> list[Nurse]:
    """Active nurses with this number (E.164): whose SMS replies may acknowledge their tasks."""
    return list(Nurse.objects.filter(phone=phone, is_active=True).select_related("user").order_by("pk"))


def nurses_unable_to_hold(now: dt.datetime) -> QuerySet[Nurse]:
    """Nurses who cannot keep open tasks now: inactive, or with no shift running now or starting within
    HANDOVER_BACK_TO_BACK_MINUTES (a back-to-back shift keeps them). docs/handover.md."""
    horizon = now + dt.timedelta(minutes=settings.HANDOVER_BACK_TO_BACK_MINUTES)
    covered = NurseShift.objects.filter(nurse=OuterRef("pk"), starts_at__lte=horizon, ends_at__gt=now)
    return Nurse.objects.filter(Q(is_active=False) | ~Exists(covered))


def tasks_held_by_absent_nurses(now: dt.datetime) -> QuerySet[EscalationTask]:
    """Open tasks held (assigned or acknowledged) by such a nurse: the hand-over sweep's work list."""
    held = (EscalationTask.Status.ASSIGNED, EscalationTask.Status.ACKNOWLEDGED)
    return EscalationTask.objects.filter(status__in=held, assigned_to__in=nurses_unable_to_hold(now))


def nurse_list_with_workload() -> QuerySet[Nurse]:
    """Nurses with `on_shift_now` and `open_task_count` annotated (the charge nurse's view in admin)."""
    now = timezone.now()
    return (
        Nurse.objects.select_related("user")
        .annotate(
            on_shift_now=Exists(NurseShift.objects.filter(nurse=OuterRef("pk"), starts_at__lte=now, ends_at__gt=now)),
            open_task_count=Count("tasks", filter=Q(tasks__status__in=OPEN_TASK_STATUSES)),
        )
        .order_by("user__last_name", "user__first_name", "pk")
    )  # an aggregate drops Meta.ordering


def task_list_for(*, user: User, status: str | None = None, priority: str | None = None) -> QuerySet[EscalationTask]:
    """The tasks a user may see, newest first: all of them with `tasks_app.view_all_tasks` (charge nurses), else
    those assigned to her own nurse profile (none for a user without one). Another nurse's task is not in the
    queryset, so reading it is a 404 (no existence leak)."""
    tasks = (
        EscalationTask.objects.select_related("assigned_to__user", "patient", "resolution_outcome")
        .prefetch_related("notes__author")
        .order_by("-created_at", "-pk")
    )
    if not user.has_perm("tasks_app.view_all_tasks"):
        tasks = tasks.filter(assigned_to__user=user) if user.is_authenticated else tasks.none()
    if status:
        tasks = tasks.filter(status=status)
    if priority:
        tasks = tasks.filter(priority=priority)
    return tasks


def agent_raised_open_tasks(*, episode_id: uuid.UUID) -> QuerySet[EscalationTask]:
    """The episode's open tasks the agent raised with a flag or a hand-off: those of an interaction without a source
    key (a response's task has one, `response:<id>`; an unanswered check-in's has one and no interaction)."""
    return EscalationTask.objects.filter(
        episode_id=episode_id,
        status__in=OPEN_TASK_STATUSES,
        interaction__isnull=False,
        source_key__isnull=True,
    )


def tasks_visible_in_admin(*, user: User | AnonymousUser) -> QuerySet[EscalationTask]:
    """The tasks a user reaches in admin: every task with `tasks_app.view_all_tasks` (a charge nurse), otherwise
    those assigned to her own nurse profile (a nurse). Another nurse's task is simply not there (a 404)."""
    tasks = EscalationTask.objects.all()
    if user.has_perm("tasks_app.view_all_tasks"):
        return tasks
    return tasks.filter(assigned_to__user=user) if user.is_authenticated else tasks.none()


def open_tasks_by_breach(*, user: User | AnonymousUser) -> QuerySet[EscalationTask]:
    """The worklist: the open tasks a user reaches, the nearest breach first, with what the patient said."""
    return (
        tasks_visible_in_admin(user=user)
        .filter(status__in=OPEN_TASK_STATUSES)
        .select_related("patient", "episode", "interaction", "assigned_to__user")
        .prefetch_related("interaction__responses")
        .order_by("sla_breach_at", "pk")
    )


def nurses_on_shift(*, now: dt.datetime) -> QuerySet[Nurse]:
    """Active nurses on shift at `now`, with `open_task_count` and `shift_ends_at` (the running shift's end),
    the busiest against her limit first."""
    running = NurseShift.objects.filter(nurse=OuterRef("pk"), starts_at__lte=now, ends_at__gt=now)
    return (
        Nurse.objects.filter(is_active=True)
        .filter(Exists(running))
        .select_related("user")
        .annotate(
            open_task_count=Count("tasks", filter=Q(tasks__status__in=OPEN_TASK_STATUSES)),
            shift_ends_at=Subquery(running.order_by("-ends_at").values("ends_at")[:1]),
        )
        .order_by(F("open_task_count").desc(), "user__last_name", "user__first_name")
    )


def tasks_breached_between(*, since: dt.datetime, until: dt.datetime) -> QuerySet[EscalationTask]:
    """Tasks whose SLA ran out in [since, until] while they were still open (closed late counts; in time does not),
    the latest breach first."""
    return (
        EscalationTask.objects.filter(sla_breach_at__gte=since, sla_breach_at__lte=until)
        .filter(Q(resolved_at=None) | Q(resolved_at__gt=F("sla_breach_at")))
        .filter(Q(cancelled_at=None) | Q(cancelled_at__gt=F("sla_breach_at")))
        .select_related("patient", "assigned_to__user")
        .order_by("-sla_breach_at")
    )


def resolution_outcomes_offered() -> QuerySet[ResolutionOutcome]:
    """The outcomes a task may be resolved with now: the active ones, in their order."""
    return ResolutionOutcome.objects.filter(is_active=True)


def shifts_overlapping(*, starts: dt.datetime, ends: dt.datetime) -> QuerySet[NurseShift]:
    """Every shift that overlaps [starts, ends), with its nurse, in time order (the roster)."""
    return (
        NurseShift.objects.filter(starts_at__lt=ends, ends_at__gt=starts)
        .select_related("nurse__user")
        .order_by("starts_at")
    )


# --- The roster: a week of shifts in the care team's zone, and the hours nobody covers ----------------------------

Interval = tuple[dt.datetime, dt.datetime]


@dataclasses.dataclass(frozen=True)
class RosterShift:
    shift_id: int
    text: str  # "07:00-19:00", "19:00-07:00 next day", or "until 07:00" for one begun the week before


@dataclasses.dataclass(frozen=True)
class RosterGap:
    """Time nobody active is on shift, within one day, in the care team's zone."""

    starts_at: dt.datetime
    ends_at: dt.datetime

    @property
    def label(self) -> str:
        return f"{self.starts_at:%H:%M}-{'24:00' if self.ends_at.time() == dt.time.min else f'{self.ends_at:%H:%M}'}"


@dataclasses.dataclass(frozen=True)
class RosterDay:
    date: dt.date
    is_today: bool
    hours: list[bool]  # hour by hour: someone on shift for the whole hour
    gaps: list[RosterGap]


@dataclasses.dataclass(frozen=True)
class RosterWeek:
    monday: dt.date
    today: dt.date
    days: list[RosterDay]
    # A row per nurse (every active one, and an inactive one who still has a shift this week), by name: a cell per
    # day holding the shifts that start that day (a shift begun the week before, on Monday).
    rows: list[tuple[Nurse, list[list[RosterShift]]]]

    @property
    def sunday(self) -> dt.date:
        return self.days[-1].date


def roster_week(*, day: dt.date, now: dt.datetime) -> RosterWeek:
    """The week (Monday to Sunday, in the care team's zone) that holds `day`: each nurse's shifts by day, and each
    day's coverage by active nurses, hour by hour and as gaps. A shift across midnight is shown on the day it starts
    and covers both days; one begun the week before is shown on Monday."""
    monday = day - dt.timedelta(days=day.weekday())
    dates = [monday + dt.timedelta(days=offset) for offset in range(7)]
    begins, ends = _midnight(dates[0]), _midnight(dates[-1] + dt.timedelta(days=1))
    shifts = list(shifts_overlapping(starts=begins, ends=ends))
    covered = _merge([(shift.starts_at, shift.ends_at) for shift in shifts if shift.nurse.is_active])
    today = care_team_time(now).date()

    cells: dict[Nurse, list[list[RosterShift]]] = {
        nurse: [[] for _ in dates] for nurse in Nurse.objects.filter(is_active=True).select_related("user")
    }
    for shift in shifts:
        start, end = care_team_time(shift.starts_at), care_team_time(shift.ends_at)
        column = max(0, (start.date() - monday).days)
        if start < begins:
            text = f"until {end:%H:%M}"
        elif end.date() != start.date() and end != _midnight(start.date() + dt.timedelta(days=1)):
            text = f"{start:%H:%M}-{end:%H:%M} next day"
        else:
            text = f"{start:%H:%M}-{end:%H:%M}"
        cells.setdefault(shift.nurse, [[] for _ in dates])[column].append(RosterShift(shift_id=shift.pk, text=text))

    days = [
        RosterDay(date=date, is_today=date == today, hours=_hours_covered(date, covered), gaps=_gaps(date, covered))
        for date in dates
    ]
    rows = sorted(cells.items(), key=lambda item: str(item[0]))
    return RosterWeek(monday=monday, today=today, days=days, rows=rows)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=care_team_zone())


def _hours_covered(date: dt.date, covered: list[Interval]) -> list[bool]:
    hours = []
    for hour in range(24):
        slot_start = _midnight(date) + dt.timedelta(hours=hour)
        hours.append(not any(True for _ in _uncovered((slot_start, slot_start + dt.timedelta(hours=1)), covered)))
    return hours


def _gaps(date: dt.date, covered: list[Interval]) -> list[RosterGap]:
    day = (_midnight(date), _midnight(date + dt.timedelta(days=1)))
    return [
        RosterGap(starts_at=care_team_time(start), ends_at=care_team_time(end))
        for start, end in _uncovered(day, covered)
    ]


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _uncovered(span: Interval, covered: list[Interval]) -> Iterator[Interval]:
    """The parts of `span` no interval of `covered` (merged, sorted) reaches."""
    cursor, end = span
    for start, stop in covered:
        if stop <= cursor or start >= end:
            continue
        if start > cursor:
            yield cursor, start
        cursor = max(cursor, stop)
    if cursor < end:
        yield cursor, end


# --- Why tasks wait unassigned, per care team (the board, the supervisors' alert) -----------------------------------


@dataclasses.dataclass(frozen=True)
class UnassignedCause:
    """Why a care team's tasks wait: nobody of the team on shift, or all of them at their limit (or, for a moment,
    neither: someone has room and the assignment sweep gives them out within a minute). Names no patient."""

    care_team: str
    waiting: int  # the team's open tasks nobody holds
    on_shift: int  # active nurses of the team on shift now
    with_room: int  # of those, the ones under their limit

    @property
    def nobody_on_shift(self) -> bool:
        return self.on_shift == 0

    @property
    def all_at_limit(self) -> bool:
        return self.on_shift > 0 and self.with_room == 0

    @property
    def text(self) -> str:
        team = f"team {self.care_team}"
        if self.nobody_on_shift:
            return f"nobody of {team} is on shift"
        if self.all_at_limit:
            nurses = "the 1 nurse" if self.on_shift == 1 else f"all {self.on_shift} nurses"
            return f"{nurses} of {team} on shift {'is' if self.on_shift == 1 else 'are'} at their limit"
        return f"{self.with_room} of {self.on_shift} nurses of {team} on shift have room: assigned within a minute"


def unassigned_cause(*, care_team: str, now: dt.datetime, waiting: int | None = None) -> UnassignedCause:
    """Why a task of `care_team` finds nobody now: the same test round-robin makes (active, on shift, under her
    limit)."""
    on_shift = list(nurses_on_shift(now=now).filter(care_team=care_team))
    if waiting is None:
        waiting = EscalationTask.objects.filter(
            care_team=care_team, status=EscalationTask.Status.OPEN, assigned_to=None
        ).count()
    return UnassignedCause(
        care_team=care_team,
        waiting=waiting,
        on_shift=len(on_shift),
        with_room=sum(nurse.open_task_count < nurse.max_open_tasks for nurse in on_shift),  # type: ignore[attr-defined]
    )


def unassigned_causes(*, now: dt.datetime) -> list[UnassignedCause]:
    """One cause per care team that has tasks waiting unassigned, the team with most waiting first."""
    waiting = (
        EscalationTask.objects.filter(status=EscalationTask.Status.OPEN, assigned_to=None)
        .values("care_team")
        .annotate(n=Count("pk"))
        .order_by("-n", "care_team")
    )
    return [unassigned_cause(care_team=row["care_team"], now=now, waiting=row["n"]) for row in waiting]


def nurses_holding_open_tasks_off_shift(*, now: dt.datetime) -> QuerySet[Nurse]:
    """Nurses not on shift now (or inactive) who still hold open tasks, with `open_task_count`: the board offers to
    hand their tasks over."""
    running = NurseShift.objects.filter(nurse=OuterRef("pk"), starts_at__lte=now, ends_at__gt=now)
    return (
        Nurse.objects.filter(tasks__status__in=OPEN_TASK_STATUSES)
        .filter(~Exists(running) | Q(is_active=False))
        .select_related("user")
        .annotate(open_task_count=Count("tasks", filter=Q(tasks__status__in=OPEN_TASK_STATUSES)))
        .order_by("user__last_name", "user__first_name", "pk")
    )


def task_holder_history(*, task_id: uuid.UUID) -> list["HolderChange"]:
    """Who held the task, in order: each assignment and reassignment from the event log (task/assigned,
    task/reassigned, task/handed_back: with its reason, e.g. SHIFT_ENDED), and acknowledgements, with who did it
    (the actor; None: the system's round-robin)."""
    events = list(
        Event.objects.filter(
            name__in=("task/assigned", "task/reassigned", "task/handed_back", "task/acknowledged"),
            data__task_id=str(task_id),
        ).order_by("created_at")
    )
    keys = ("nurse_id", "from_nurse_id", "to_nurse_id")
    nurse_ids = {event.data[key] for event in events for key in keys if event.data.get(key)}
    nurses = {nurse.pk: str(nurse) for nurse in Nurse.objects.filter(pk__in=nurse_ids).select_related("user")}
    actor_ids = {event.actor for event in events if event.actor is not None}
    actors = {user.pk: user.get_full_name() or user.get_username() for user in User.objects.filter(pk__in=actor_ids)}
    return [
        HolderChange(
            at=event.created_at,
            what=event.name.removeprefix("task/"),
            from_nurse=nurses.get(event.data.get("from_nurse_id")) if event.data.get("from_nurse_id") else None,
            # task/handed_back: nobody on shift could take it (docs/handover.md)
            to_nurse="nobody"
            if event.name == "task/handed_back"
            else nurses.get(event.data.get("to_nurse_id") or event.data.get("nurse_id"), "?"),
            by=actors.get(event.actor) if event.actor is not None else None,
            reason=str(event.data.get("reason", "")),
        )
        for event in events
    ]


@dataclasses.dataclass(frozen=True)
class HolderChange:
    at: dt.datetime
    what: str  # "assigned", "reassigned", "acknowledged"
    from_nurse: str | None
    to_nurse: str
    by: str | None  # the user who did it; None: the system (round-robin, hand-over at shift end)
    reason: str  # the event's reason where it records one
