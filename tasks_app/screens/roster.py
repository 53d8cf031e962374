"""The shift roster: a week of shifts, a row per nurse and a column per day (in the care team's zone), and the hours
nobody is on shift, each with a link to add a shift for it. The week's arithmetic is `roster_week`'s (a selector);
this view adds the links a user's permissions allow."""

import dataclasses
import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from tasks_app.care_team import care_team_time
from tasks_app.models import Nurse
from tasks_app.roster_checks import MAX_STINT_HOURS, MIN_REST_HOURS, roster_checks
from tasks_app.screens.common import CareTeamView
from tasks_app.selectors import RosterGap, roster_week
from tasks_app.services.roster import ShiftTemplate, shift_add_from_template, shifts_copy_week


@dataclasses.dataclass
class ShiftLabel:
    text: str
    url: str


@dataclasses.dataclass
class Gap:
    label: str
    add_url: str


@dataclasses.dataclass
class Day:
    date: dt.date
    is_today: bool
    hours: list[bool]  # hour by hour: someone on shift for the whole hour
    gaps: list[Gap]


class RosterView(CareTeamView):
    """A week of shifts: a row per nurse, a column per day (in the care team's zone), and the hours nobody is on
    shift, each with a link to add a shift for it."""

    permission = "tasks_app.view_nurseshift"
    template_name = "admin/tasks_app/roster.html"
    title = "Shift roster"

    def asked_day(self) -> dt.date:
        """The day of ?week= (any day of the week asked for), today if it is missing or not a date."""
        try:
            return dt.date.fromisoformat(self.request.GET.get("week", ""))
        except ValueError:
            return care_team_time(timezone.now()).date()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        week = roster_week(day=self.asked_day(), now=timezone.now())
        can_add = self.request.user.has_perm("tasks_app.add_nurseshift")
        can_change = self.request.user.has_perm("tasks_app.change_nurseshift")

        def shift_url(shift_id: int) -> str:
            return reverse("admin:tasks_app_nurseshift_change", args=[shift_id]) if can_change else ""

        days = [
            Day(
                date=day.date,
                is_today=day.is_today,
                hours=day.hours,
                gaps=[Gap(label=gap.label, add_url=_add_shift_url(gap) if can_add else "") for gap in day.gaps],
            )
            for day in week.days
        ]
        checks = roster_checks(monday=week.monday)
        rows = [
            (
                nurse,
                [
                    (day.date, [ShiftLabel(text=shift.text, url=shift_url(shift.shift_id)) for shift in cell])
                    for day, cell in zip(week.days, cells, strict=True)
                ],
                checks.hours.get(nurse.pk, 0),
            )
            for nurse, cells in week.rows
        ]
        monday, today = week.monday, week.today
        return super().get_context_data(
            warnings=checks.warnings,
            teams=checks.teams,
            max_stint_hours=MAX_STINT_HOURS,
            min_rest_hours=MIN_REST_HOURS,
            templates=[(template.name.lower(), template.label) for template in ShiftTemplate],
            week_param=str(monday),
            days=days,
            rows=rows,
            previous_week=f"?week={monday - dt.timedelta(days=7)}",
            next_week=f"?week={monday + dt.timedelta(days=7)}",
            this_week=f"?week={today - dt.timedelta(days=today.weekday())}",
            monday=monday,
            sunday=week.sunday,
            hour_marks=range(0, 24, 6),
            can_add=can_add,
            add_url=reverse("admin:tasks_app_nurseshift_add") if can_add else "",
            **kwargs,
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """The one-click tools: `copy` last week's shifts into this week, or `add` a template shift
        ("day:<nurse id>:<YYYY-MM-DD>"). What is refused is said; nothing else changes."""
        if not request.user.has_perm("tasks_app.add_nurseshift"):
            raise PermissionDenied("Adding shifts is a charge nurse's.")
        monday = self.asked_day() - dt.timedelta(days=self.asked_day().weekday())
        back = HttpResponseRedirect(f"{request.path}?week={monday}")
        if request.POST.get("copy") == "last-week":
            done = shifts_copy_week(from_monday=monday - dt.timedelta(days=7), to_monday=monday)
            messages.success(request, f"Copied {done.copied} shift(s) from last week.")
            for skipped in done.skipped:
                messages.warning(request, f"Not copied: {skipped}")
            return back
        try:
            name, nurse_id, day = request.POST.get("add", "").split(":")
            template, date = ShiftTemplate[name.upper()], dt.date.fromisoformat(day)
        except (KeyError, ValueError):
            messages.error(request, "Choose a shift to add: day or night, a nurse and a day.")
            return HttpResponseRedirect(f"{request.path}?week={monday}")
        nurse = get_object_or_404(Nurse.objects.select_related("user"), pk=nurse_id, is_active=True)
        try:
            shift = shift_add_from_template(nurse=nurse, day=date, template=template)
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
        else:
            messages.success(request, f"Added {shift}.")
        return back


def _add_shift_url(gap: RosterGap) -> str:
    """The add-shift page with the gap's times filled in (NurseShiftAdmin reads them in the care team's zone)."""
    start, end = gap.starts_at, gap.ends_at
    return f"{reverse('admin:tasks_app_nurseshift_add')}?starts_at={start:%Y-%m-%dT%H:%M}&ends_at={end:%Y-%m-%dT%H:%M}"
