"""What the roster warns about and sums up for a week (a selector, like `roster_week`): stints over 12 hours and
rests under 8 hours per nurse, the hours each nurse works in the week, and the hours each care team has nobody on
shift. Times in the care team's zone."""

import dataclasses
import datetime as dt
import itertools
from collections import Counter, defaultdict

from tasks_app.care_team import care_team_time, care_team_zone
from tasks_app.models import Nurse, NurseShift
from tasks_app.selectors import Interval, _merge, _uncovered, shifts_overlapping

# Working-time limits the roster warns about (a warning, not a refusal: a charge nurse may need to cover a gap).
MAX_STINT_HOURS = 12
MIN_REST_HOURS = 8


@dataclasses.dataclass(frozen=True)
class RosterWarning:
    nurse: Nurse
    text: str


@dataclasses.dataclass(frozen=True)
class TeamCoverage:
    care_team: str
    nurses: int  # active nurses of the team
    uncovered_hours: list[float]  # per day of the week, hours nobody of the team is on shift


@dataclasses.dataclass(frozen=True)
class RosterChecks:
    warnings: list[RosterWarning]
    hours: dict[int, float]  # nurse id → hours on shift within the week
    teams: list[TeamCoverage]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=care_team_zone())


def _hours(span: dt.timedelta) -> float:
    return round(span.total_seconds() / 3600, 1)


def _label(moment: dt.datetime) -> str:
    return f"{care_team_time(moment):%a %-d %b %H:%M}"


def roster_checks(*, monday: dt.date) -> RosterChecks:
    """The week from `monday`: shifts back to back make one stint (a stint or a rest that touches the week counts)."""
    begins, ends = _midnight(monday), _midnight(monday + dt.timedelta(days=7))
    around = list(shifts_overlapping(starts=begins - dt.timedelta(days=1), ends=ends + dt.timedelta(days=1)))
    by_nurse: dict[Nurse, list[NurseShift]] = defaultdict(list)
    for shift in around:
        by_nurse[shift.nurse].append(shift)

    warnings: list[RosterWarning] = []
    hours: dict[int, float] = {}
    for nurse, shifts in sorted(by_nurse.items(), key=lambda item: str(item[0])):
        stints = _merge([(shift.starts_at, shift.ends_at) for shift in shifts])
        hours[nurse.pk] = _hours(
            sum(
                (min(end, ends) - max(start, begins) for start, end in stints if end > begins and start < ends),
                dt.timedelta(),
            )
        )
        warnings += _stint_warnings(nurse, stints, begins, ends)
    return RosterChecks(warnings=warnings, hours=hours, teams=_team_coverage(monday, around))


def _stint_warnings(
    nurse: Nurse, stints: list[Interval], begins: dt.datetime, ends: dt.datetime
) -> list[RosterWarning]:
    found = []
    for start, end in stints:
        if end > begins and start < ends and end - start > dt.timedelta(hours=MAX_STINT_HOURS):
            found.append(
                RosterWarning(
                    nurse,
                    f"{nurse} works {_hours(end - start):g} h in a row, {_label(start)} to {_label(end)} "
                    f"(over {MAX_STINT_HOURS} h).",
                )
            )
    for (_, previous_end), (next_start, _) in itertools.pairwise(stints):
        rest = next_start - previous_end
        if next_start > begins and previous_end < ends and rest < dt.timedelta(hours=MIN_REST_HOURS):
            found.append(
                RosterWarning(
                    nurse,
                    f"{nurse} rests {_hours(rest):g} h, {_label(previous_end)} to {_label(next_start)} "
                    f"(under {MIN_REST_HOURS} h).",
                )
            )
    return found


def _team_coverage(monday: dt.date, shifts: list[NurseShift]) -> list[TeamCoverage]:
    """Per care team with an active nurse, the hours of each day nobody of the team is on shift."""
    counts = Counter(Nurse.objects.filter(is_active=True).values_list("care_team", flat=True))
    intervals: dict[str, list[Interval]] = {team: [] for team in counts}
    for shift in shifts:
        if shift.nurse.is_active:
            intervals[shift.nurse.care_team].append((shift.starts_at, shift.ends_at))
    rows = []
    for team in sorted(intervals):
        covered = _merge(intervals[team])
        uncovered = []
        for offset in range(7):
            day = monday + dt.timedelta(days=offset)
            span = (_midnight(day), _midnight(day + dt.timedelta(days=1)))
            uncovered.append(_hours(sum((end - start for start, end in _uncovered(span, covered)), dt.timedelta())))
        rows.append(TeamCoverage(care_team=team, nurses=counts[team], uncovered_hours=uncovered))
    return rows
