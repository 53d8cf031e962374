"""The Reports page and the monthly summary (docs/reports.md): inside admin, for the `tasks_app.view_reports`
permission (charge nurses, nurse managers), audited like every care team screen: the patients the page names (those
not reached in time) are recorded in the request's audit row."""

import csv
import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from care_events.models import Episode
from care_events.platform.audit.models import AuditAction
from care_events.platform.audit.notes import note
from reports.figures import ReportFilters, Table
from reports.forms import MonthForm, ReportFilterForm, care_teams
from reports.sections import report
from tasks_app.care_team import care_team_time
from tasks_app.screens.common import CareTeamView


class ReportScreen(CareTeamView):
    audit_read_action = AuditAction.ADMIN_LIST
    permission = "tasks_app.view_reports"

    def audit_shown(self, context: dict[str, Any]) -> list[Any]:  # episodes, not the tasks of CareTeamView
        ids = [pk for shown in context.get("reports", []) for pk in shown.missed_shown]
        return list(Episode.objects.filter(pk__in=ids)) if ids else []


class ReportsView(ReportScreen):
    template_name = "reports/report.html"
    title = "Care-quality reports"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        now = timezone.now()
        form = ReportFilterForm(request.GET, today=care_team_time(now).date())
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form, reports=[]), status=400)
        shown = report(form.filters(), now)
        context = self.get_context_data(form=form.with_days_shown(), reports=[shown], query=request.GET.urlencode())
        asked = request.GET.get("csv")
        if asked is None:
            return self.render_to_response(context)
        table = shown.table(asked)
        if table is None:
            return HttpResponse(f"csv: no table named {asked!r}.", status=400, content_type="text/plain")
        if table.episode_ids:  # the CSV names every patient of the table, not only those the page lists
            note(request, objects=Episode.objects.filter(pk__in=table.episode_ids))
        return csv_response(table, shown.filters)


class MonthlySummaryView(ReportScreen):
    """The same figures for one calendar month, one section per care team, laid out to print (or save as PDF)."""

    template_name = "reports/monthly.html"
    title = "Monthly care-quality summary"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        now = timezone.now()
        form = MonthForm(request.GET, today=care_team_time(now).date())
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form, reports=[]), status=400)
        first = form.first_day()
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        teams = [form.cleaned_data["team"]] if form.cleaned_data["team"] else care_teams()
        reports = [report(ReportFilters(first, last, care_team=team), now) for team in teams]
        return self.render_to_response(self.get_context_data(form=form, reports=reports, month=first))


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return care_team_time(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # a spreadsheet must not read a name as a formula
    return "" if value is None else value


def csv_response(table: Table, filters: ReportFilters) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{table.key}-{filters.first_day}-{filters.last_day}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(table.columns)
    writer.writerows([_cell(value) for value in row] for row in table.rows)
    return response
