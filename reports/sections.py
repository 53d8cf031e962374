"""The report as the page and the monthly summary show it: each figure's table, with its chart where a picture reads
better than the numbers. One place builds both pages, so they always show the same figures."""

import dataclasses
import datetime as dt
from typing import Any

from care_events.choices import Severity
from reports import figures
from reports.charts import Chart, bar_chart
from reports.figures import ReportFilters, Table

# The patients not reached in time the page lists (the most recent first); every one is in the CSV.
MISSED_SHOWN = 100


@dataclasses.dataclass
class Section:
    table: Table
    chart: Chart | None = None
    shown: int | None = None  # the rows the page shows, when not all (the CSV has all)

    @property
    def rows(self) -> list[list[Any]]:
        return self.table.rows if self.shown is None else self.table.rows[: self.shown]

    @property
    def hidden(self) -> int:
        return len(self.table.rows) - len(self.rows)


@dataclasses.dataclass
class Report:
    filters: ReportFilters
    sections: list[Section]
    readmissions: Section | None  # None: no data (docs/reports.md#readmissions)

    def table(self, key: str) -> Table | None:
        sections = [*self.sections, *([self.readmissions] if self.readmissions else [])]
        return next((section.table for section in sections if section.table.key == key), None)

    @property
    def missed_shown(self) -> list[Any]:
        """The episodes of the patients the page names (the audit trail records them)."""
        section = next(section for section in self.sections if section.table.key == "tcm-missed")
        return section.table.episode_ids[: len(section.rows)]


def _column(table: Table, index: int) -> list[Any]:
    return [row[index] for row in table.rows]


def _week_labels(table: Table) -> list[str]:
    return [row[0].strftime("%-d %b") for row in table.rows]


def _tcm(table: Table) -> Chart:
    return bar_chart(
        key=table.key,
        title=table.title,
        x_label="Week of discharge",
        y_label="Share reached in time (%)",
        categories=_week_labels(table),
        series=[("Reached in time", _column(table, 3))],
        y_max=100,
    )


def _first_contact(table: Table) -> Chart:
    return bar_chart(
        key=table.key,
        title=table.title,
        x_label="Week of discharge",
        y_label="Hours after discharge",
        categories=_week_labels(table),
        series=[("Median", _column(table, 2)), ("90th percentile", _column(table, 3))],
    )


def _sla(table: Table) -> Chart:
    weeks = sorted({row[0] for row in table.rows})
    share = {(row[0], row[1]): row[4] for row in table.rows}
    severities = [value for value in Severity.values if any(row[1] == value for row in table.rows)]
    return bar_chart(
        key=table.key,
        title=table.title,
        x_label="Week of task creation",
        y_label="Share within SLA (%)",
        categories=[week.strftime("%-d %b") for week in weeks],
        series=[(Severity(s).label, [share.get((week, s)) for week in weeks]) for s in severities],
        y_max=100,
    )


def _counts(table: Table, *, x_label: str, y_label: str) -> Chart:
    return bar_chart(
        key=table.key,
        title=table.title,
        x_label=x_label,
        y_label=y_label,
        categories=[str(row[0]) for row in table.rows],
        series=[(y_label, _column(table, 1))],
    )


def _response_times(table: Table) -> Chart:
    return bar_chart(
        key=table.key,
        title=table.title,
        x_label=table.columns[0],
        y_label="Minutes after creation (median)",
        categories=[str(row[0]) for row in table.rows],
        series=[("To acknowledge", _column(table, 2)), ("To resolve", _column(table, 5))],
    )


def report(filters: ReportFilters, now: dt.datetime) -> Report:
    tcm, first = figures.tcm_and_first_contact_weekly(filters, now)
    sla = figures.sla_compliance_weekly(filters, now)
    by_hour = figures.breaches_by_hour(filters, now)
    by_shift = figures.breaches_by_shift(filters, now, by_hour=by_hour)
    by_team = figures.response_times_by_team(filters, now)
    actions = figures.escalations_by_action(filters, now)
    outcomes = figures.escalations_by_outcome(filters, now)
    return Report(
        filters=filters,
        sections=[
            Section(tcm, _tcm(tcm)),
            Section(figures.tcm_missed(filters, now), shown=MISSED_SHOWN),
            Section(first, _first_contact(first)),
            Section(sla, _sla(sla)),
            Section(by_hour, _counts(by_hour, x_label="Hour of the due time", y_label="Breaches")),
            Section(by_shift, _counts(by_shift, x_label="Shift", y_label="Breaches")),
            Section(by_team, _response_times(by_team)),
            Section(figures.response_times_by_nurse(filters, now)),
            Section(actions, _counts(actions, x_label="Action", y_label="Tasks")),
            Section(outcomes, _counts(outcomes, x_label="Outcome", y_label="Tasks")),
        ],
        readmissions=_readmissions(figures.readmissions(filters, now)),
    )


def _readmissions(table: Table | None) -> Section | None:
    if table is None:
        return None
    rates = Table(table.key, table.title, table.columns, [[row[0], row[3]] for row in table.rows])
    chart = _counts(rates, x_label="Reached within 2 business days", y_label="Readmitted within 30 days (%)")
    return Section(table, chart)
