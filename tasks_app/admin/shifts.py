"""Shifts in admin, in the care team's zone, and the roster screen (tasks_app/screens/roster.py) under them."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern, path
from django.utils import timezone

from tasks_app.admin.forms import NurseShiftForm
from tasks_app.care_team import care_team_zone
from tasks_app.models import NurseShift
from tasks_app.screens.roster import RosterView


@admin.register(NurseShift)
class NurseShiftAdmin(admin.ModelAdmin):
    form = NurseShiftForm
    list_display = ("nurse", "starts", "ends", "tasks_assigned")
    list_filter = ("nurse", ("starts_at", admin.DateFieldListFilter))
    date_hierarchy = "starts_at"
    search_fields = ("nurse__user__first_name", "nurse__user__last_name")
    autocomplete_fields = ("nurse",)
    readonly_fields = ("tasks_assigned",)
    list_select_related = ("nurse__user",)

    # Admin pages run in the care team's zone (tasks_app.middleware), so these show its wall-clock times.
    @admin.display(ordering="starts_at", description=f"Starts ({settings.CARE_TEAM_TIME_ZONE})")
    def starts(self, shift: NurseShift) -> str:
        return f"{timezone.localtime(shift.starts_at):%a %-d %b %Y %H:%M}"

    @admin.display(ordering="ends_at", description=f"Ends ({settings.CARE_TEAM_TIME_ZONE})")
    def ends(self, shift: NurseShift) -> str:
        return f"{timezone.localtime(shift.ends_at):%a %-d %b %Y %H:%M}"

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """The roster's "add a shift" links carry the gap's times (?starts_at=2026-12-07T00:00, in the care team's
        zone) and may carry a nurse; anything that does not parse is left empty."""
        initial: dict[str, Any] = {}
        for name in ("starts_at", "ends_at"):
            try:
                initial[name] = dt.datetime.fromisoformat(request.GET.get(name, "")).replace(tzinfo=care_team_zone())
            except ValueError:
                continue
        if request.GET.get("nurse", "").isdigit():
            initial["nurse"] = request.GET["nurse"]
        return initial

    def get_urls(self) -> list[URLPattern]:
        roster = RosterView.as_view(model_admin=self)
        return [
            path("roster/", self.admin_site.admin_view(roster), name="tasks_app_nurseshift_roster"),
            *super().get_urls(),
        ]
