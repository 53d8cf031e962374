"""The care-quality figures (docs/reports.md defines each): SQL aggregates over the rows every other app keeps
(episodes, interaction responses, outreach attempts, tasks, task notes), never counters. Each function takes the
page's filters and returns a `Table`: the rows behind its chart, its CSV and its data table."""

import dataclasses
import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection

from care_events.models import Episode
from reports.business_days import tcm_deadlines
from tasks_app.care_team import care_team_zone
from tasks_app.models import DEFAULT_CARE_TEAM, ActionType, CallOutcome

# A nurse's call counts as an interactive contact when she reached someone (docs/reports.md).
REACHED_CALL_OUTCOMES = (CallOutcome.SPOKE_WITH_PATIENT, CallOutcome.SPOKE_WITH_CAREGIVER)


@dataclasses.dataclass(frozen=True)
class ReportFilters:
    """Days are the care team's calendar days, both ends included; an empty team or facility is every one."""

    first_day: dt.date
    last_day: dt.date
    care_team: str = ""
    facility: str = ""

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.first_day, dt.time(), tzinfo=care_team_zone())

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time(), tzinfo=care_team_zone())

    def params(self, now: dt.datetime) -> dict[str, Any]:
        teams = settings.CARE_TEAM_BY_FACILITY
        return {
            "since": self.since,
            "until": self.until,
            "now": now,
            "tz": settings.CARE_TEAM_TIME_ZONE,
            "team": self.care_team or None,
            "facility": self.facility or None,
            "team_facilities": list(teams),
            "team_names": list(teams.values()),
            "default_team": DEFAULT_CARE_TEAM,
        }


@dataclasses.dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    # The episodes whose patients the rows name (the audit trail records them); empty: the rows name nobody.
    episode_ids: list[Any] = dataclasses.field(default_factory=list)


def _fetch(sql: str, params: dict[str, Any]) -> list[list[Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [list(row) for row in cursor.fetchall()]


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


# --- TCM: an interactive contact within two business days of discharge -----------------------------------------

# Every discharge of the window with its deadline (the facility calendar's, passed in as arrays) and its first
# interactive contact after discharge: a graded answer to the agent, an answered outreach attempt, or a nurse's call
# that reached the patient or a caregiver. Set-based (one join per kind of contact, then the earliest per episode):
# a subquery per discharge took seconds at a year (bench/reports.py).
_DISCHARGES = """
WITH calendar(facility, day, deadline) AS (
    SELECT * FROM unnest(
        %(calendar_facilities)s::text[], %(calendar_days)s::date[], %(calendar_deadlines)s::timestamptz[]
    )
),
teams(facility, team) AS (SELECT * FROM unnest(%(team_facilities)s::text[], %(team_names)s::text[])),
discharges AS (
    SELECT e.id, e.patient_id, e.facility, e.discharged_at, e.readmission_id,
           e.visit_number <> '' AS from_feed, (e.discharged_at AT TIME ZONE %(tz)s)::date AS day
    FROM care_events_episode e LEFT JOIN teams ON teams.facility = e.facility
    WHERE e.discharged_at >= %(since)s AND e.discharged_at < %(until)s
      AND (%(team)s::text IS NULL OR COALESCE(teams.team, %(default_team)s) = %(team)s::text)
      AND (%(facility)s::text IS NULL OR e.facility = %(facility)s::text)
),
reached(episode_id, at) AS (
    SELECT i.episode_id, r.received_at FROM discharges d
        JOIN care_events_agentinteraction i ON i.episode_id = d.id
        JOIN care_events_interactionresponse r ON r.interaction_id = i.id
        WHERE r.received_at >= d.discharged_at
    UNION ALL
    SELECT p.episode_id, a.answered_at FROM discharges d
        JOIN care_events_outreachplan p ON p.episode_id = d.id
        JOIN care_events_outreachattempt a ON a.plan_id = p.id
        WHERE a.answered_at >= d.discharged_at
    UNION ALL
    SELECT t.episode_id, n.created_at FROM discharges d
        JOIN tasks_app_escalationtask t ON t.episode_id = d.id
        JOIN tasks_app_tasknote n ON n.task_id = t.id
        WHERE n.call_outcome = ANY(%(reached_outcomes)s::text[]) AND n.created_at >= d.discharged_at
),
contacts AS (
    SELECT d.*, calendar.deadline, first.at AS first_contact
    FROM discharges d JOIN calendar ON calendar.facility = d.facility AND calendar.day = d.day
    LEFT JOIN (SELECT episode_id, min(at) AS at FROM reached GROUP BY 1) first ON first.episode_id = d.id
),
decided AS (
    -- A discharge counts once its deadline has passed or it was reached; until then it is pending.
    SELECT *, first_contact IS NOT NULL AND first_contact < deadline AS in_time
    FROM contacts WHERE deadline <= %(now)s OR first_contact IS NOT NULL
)
"""


def _discharges_sql(body: str) -> str:
    return _DISCHARGES + body


def _discharge_params(filters: ReportFilters, now: dt.datetime) -> dict[str, Any]:
    facilities = list(
        Episode.objects.filter(discharged_at__gte=filters.since, discharged_at__lt=filters.until)
        .values_list("facility", flat=True)
        .distinct()
        .order_by()
    )
    calendar = tcm_deadlines(facilities, filters.first_day - dt.timedelta(days=1), filters.last_day)
    return {
        **filters.params(now),
        "calendar_facilities": [row[0] for row in calendar],
        "calendar_days": [row[1] for row in calendar],
        "calendar_deadlines": [row[2] for row in calendar],
        "reached_outcomes": list(REACHED_CALL_OUTCOMES),
    }


def tcm_weekly(filters: ReportFilters, now: dt.datetime) -> Table:
    return tcm_and_first_contact_weekly(filters, now)[0]


def first_contact_weekly(filters: ReportFilters, now: dt.datetime) -> Table:
    return tcm_and_first_contact_weekly(filters, now)[1]


def tcm_and_first_contact_weekly(filters: ReportFilters, now: dt.datetime) -> tuple[Table, Table]:
    """Both weekly figures of the discharges in one pass over them (the page asks for both)."""
    rows = _fetch(
        _discharges_sql("""
        SELECT date_trunc('week', c.day)::date AS week,
               count(*) FILTER (WHERE c.deadline <= %(now)s OR c.first_contact IS NOT NULL),
               count(*) FILTER (WHERE c.first_contact < c.deadline),
               count(*) FILTER (WHERE c.deadline > %(now)s AND c.first_contact IS NULL),
               count(c.first_contact),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.first_contact - c.discharged_at)),
               percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM c.first_contact - c.discharged_at)),
               count(*) FILTER (WHERE c.first_contact IS NULL)
        FROM contacts c GROUP BY 1 ORDER BY 1
        """),
        _discharge_params(filters, now),
    )
    tcm = Table(
        key="tcm",
        title="Discharges reached within 2 business days (TCM), by week of discharge",
        columns=["Week of", "Discharges counted", "Reached in time", "Share reached (%)", "Not yet due"],
        rows=[
            [week, counted, in_time, _share(in_time, counted), pending] for week, counted, in_time, pending, *_ in rows
        ],
    )
    first = Table(
        key="first-contact",
        title="Time from discharge to first interactive contact (hours), by week of discharge",
        columns=["Week of", "Reached", "Median (h)", "90th percentile (h)", "Not reached yet"],
        rows=[[w, n, _round(_hours(p50)), _round(_hours(p90)), none] for w, *_, n, p50, p90, none in rows],
    )
    return tcm, first


def tcm_missed(filters: ReportFilters, now: dt.datetime) -> Table:
    rows = _fetch(
        _discharges_sql("""
        SELECT p.first_name || ' ' || p.last_name, p.mrn, d.facility, d.discharged_at, d.deadline, d.first_contact, d.id
        FROM decided d JOIN care_events_patient p ON p.id = d.patient_id
        WHERE NOT d.in_time ORDER BY d.discharged_at DESC
        """),
        _discharge_params(filters, now),
    )
    return Table(
        key="tcm-missed",
        title="Patients not reached within 2 business days",
        columns=["Patient", "MRN", "Facility", "Discharged", "Deadline", "First contact"],
        rows=[row[:-1] for row in rows],
        episode_ids=[row[-1] for row in rows],
    )


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def readmissions(filters: ReportFilters, now: dt.datetime) -> Table | None:
    """Among the discharges the ADT feed told us of (an episode with the hospital's visit number: the feed marks its
    readmissions, care_events.services.episodes), those readmitted within READMISSION_WINDOW_DAYS, by whether they
    were reached in time. None ("no data") while no discharge of the range came through the feed: a discharge
    recorded through the agent's API alone carries no readmission mark, and a zero would mislead."""
    window = dt.timedelta(days=settings.READMISSION_WINDOW_DAYS)
    rows = _fetch(
        _discharges_sql("""
        SELECT d.in_time, count(*), count(*) FILTER (WHERE back.admitted_at < d.discharged_at + %(readmission_window)s)
        FROM decided d LEFT JOIN care_events_episode back ON back.id = d.readmission_id
        WHERE d.from_feed AND d.discharged_at + %(readmission_window)s <= %(now)s
        GROUP BY 1 ORDER BY 1 DESC
        """),
        {**_discharge_params(filters, now), "readmission_window": window},
    )
    if not rows:
        return None
    return Table(
        key="readmissions",
        title=f"{settings.READMISSION_WINDOW_DAYS}-day readmissions, by whether the patient was reached within 2 "
        "business days",
        columns=["Reached in time", "Discharges followed", f"Readmitted within {window.days} days", "Rate (%)"],
        rows=[["Yes" if in_time else "No", n, back, _share(back, n)] for in_time, n, back in rows],
    )


# --- Tasks: SLA, breaches, response times, escalations -----------------------------------------------------------

_TASKS = """
WITH tasks AS (
    SELECT t.*, e.facility FROM tasks_app_escalationtask t JOIN care_events_episode e ON e.id = t.episode_id
    WHERE t.{moment} >= %(since)s AND t.{moment} < %(until)s
      AND (%(team)s::text IS NULL OR t.care_team = %(team)s::text)
      AND (%(facility)s::text IS NULL OR e.facility = %(facility)s::text)
)
"""

# A task breached when it was still open at its due time (sla_breach_at): resolved or cancelled later, or still
# open now. A task cancelled before its due time is neither met nor breached and is left out.
_BREACHED = "t.sla_breach_at < COALESCE(t.resolved_at, t.cancelled_at, %(now)s)"


def _tasks_sql(body: str, *, moment: str = "created_at") -> str:
    return _TASKS.format(moment=moment) + body


def sla_compliance_weekly(filters: ReportFilters, now: dt.datetime) -> Table:
    rows = _fetch(
        _tasks_sql(f"""
        SELECT date_trunc('week', t.created_at AT TIME ZONE %(tz)s)::date, t.severity,
               count(*), count(*) FILTER (WHERE NOT ({_BREACHED}))
        FROM tasks t WHERE t.resolved_at IS NOT NULL OR {_BREACHED}
        GROUP BY 1, 2 ORDER BY 1, 2
        """),  # noqa: S608 - _BREACHED is this module's constant
        filters.params(now),
    )
    return Table(
        key="sla",
        title="Tasks resolved within their SLA, by severity and week of creation",
        columns=["Week of", "Severity", "Tasks counted", "Within SLA", "Share within SLA (%)"],
        rows=[[week, severity, n, met, _share(met, n)] for week, severity, n, met in rows],
    )


def breaches_by_hour(filters: ReportFilters, now: dt.datetime) -> Table:
    counts = dict(
        _fetch(
            _tasks_sql(
                f"""
                SELECT extract(hour FROM t.sla_breach_at AT TIME ZONE %(tz)s)::int, count(*)
                FROM tasks t WHERE {_BREACHED} GROUP BY 1
                """,  # noqa: S608 - _BREACHED is this module's constant
                moment="sla_breach_at",
            ),
            filters.params(now),
        )
    )
    return Table(
        key="breaches-by-hour",
        title="SLA breaches by hour of day (care team's time)",
        columns=["Hour", "Breaches"],
        rows=[[f"{hour:02d}:00", counts.get(hour, 0)] for hour in range(24)],
    )


def shift_of_hour(hour: int) -> str:
    """The REPORTS_SHIFT_STARTS shift running at `hour` (the last one starting at or before it, wrapping midnight)."""
    starts = sorted(settings.REPORTS_SHIFT_STARTS.items(), key=lambda item: item[1])
    running = [name for name, start in starts if start <= hour]
    return running[-1] if running else starts[-1][0]


def breaches_by_shift(filters: ReportFilters, now: dt.datetime, *, by_hour: Table | None = None) -> Table:
    """`by_hour`: breaches_by_hour's table of the same filters, when the caller has it already."""
    starts: dict[str, int] = settings.REPORTS_SHIFT_STARTS
    by_shift = dict.fromkeys(sorted(starts, key=lambda name: starts[name]), 0)
    for hour, breaches in (by_hour or breaches_by_hour(filters, now)).rows:
        by_shift[shift_of_hour(int(hour[:2]))] += breaches
    return Table(
        key="breaches-by-shift",
        title="SLA breaches by shift (the shift running at the due time)",
        columns=["Shift", "Breaches"],
        rows=[[name, count] for name, count in by_shift.items()],
    )


_RESPONSE_TIMES = """
SELECT {group},
       count(t.acknowledged_at),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.acknowledged_at - t.created_at)),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.acknowledged_at - t.created_at)),
       count(t.resolved_at),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.resolved_at - t.created_at)),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.resolved_at - t.created_at))
FROM tasks t {join} GROUP BY 1 ORDER BY 1
"""

_RESPONSE_COLUMNS = [
    "Acknowledged",
    "To acknowledge, median (min)",
    "To acknowledge, 90th percentile (min)",
    "Resolved",
    "To resolve, median (min)",
    "To resolve, 90th percentile (min)",
]


def _minutes_row(row: list[Any]) -> list[Any]:
    name, acked, ack50, ack90, resolved, res50, res90 = row
    minutes = [_round(None if s is None else s / 60) for s in (ack50, ack90, res50, res90)]
    return [name, acked, minutes[0], minutes[1], resolved, minutes[2], minutes[3]]


def response_times_by_team(filters: ReportFilters, now: dt.datetime) -> Table:
    rows = _fetch(_tasks_sql(_RESPONSE_TIMES.format(group="t.care_team", join="")), filters.params(now))
    return Table(
        key="response-by-team",
        title="Time from task creation to acknowledgement and to resolution, by care team",
        columns=["Care team", *_RESPONSE_COLUMNS],
        rows=[_minutes_row(row) for row in rows],
    )


def response_times_by_nurse(filters: ReportFilters, now: dt.datetime) -> Table:
    group = "COALESCE(NULLIF(trim(u.first_name || ' ' || u.last_name), ''), u.username, 'Nobody')"
    join = "LEFT JOIN tasks_app_nurse n ON n.id = t.assigned_to_id LEFT JOIN auth_user u ON u.id = n.user_id"
    rows = _fetch(_tasks_sql(_RESPONSE_TIMES.format(group=group, join=join)), filters.params(now))
    return Table(
        key="response-by-nurse",
        title="Time from task creation to acknowledgement and to resolution, by the nurse holding the task",
        columns=["Nurse", *_RESPONSE_COLUMNS],
        rows=[_minutes_row(row) for row in rows],
    )


def escalations_by_action(filters: ReportFilters, now: dt.datetime) -> Table:
    counts = dict(_fetch(_tasks_sql("SELECT t.action_type, count(*) FROM tasks t GROUP BY 1"), filters.params(now)))
    return Table(
        key="escalations-by-action",
        title="Escalation tasks by action",
        columns=["Action", "Tasks"],
        rows=[[label, counts[code]] for code, label in ActionType.choices if code in counts],
    )


def escalations_by_outcome(filters: ReportFilters, now: dt.datetime) -> Table:
    rows = _fetch(
        _tasks_sql("""
        SELECT COALESCE(o.label, 'No outcome recorded'), count(*)
        FROM tasks t LEFT JOIN tasks_app_resolutionoutcome o ON o.id = t.resolution_outcome_id
        WHERE t.resolved_at IS NOT NULL GROUP BY o.position, 1 ORDER BY o.position NULLS LAST, 1
        """),
        filters.params(now),
    )
    return Table(
        key="escalations-by-outcome",
        title="Resolved escalation tasks by outcome",
        columns=["Outcome", "Tasks"],
        rows=rows,
    )
