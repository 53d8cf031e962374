"""The report's filters: a date range (the care team's days), a care team, a facility. Bad values are a 400 that
names the field, never a 500."""

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings

from reports.figures import ReportFilters
from tasks_app.models import DEFAULT_CARE_TEAM, Nurse

# A year and a bit: the page's promise (every plot under a second) is measured at a year (bench/reports.py).
MAX_DAYS = 400
DEFAULT_WEEKS = 12


def care_teams() -> list[str]:
    named = {DEFAULT_CARE_TEAM, *settings.CARE_TEAM_BY_FACILITY.values()}
    named.update(Nurse.objects.values_list("care_team", flat=True).distinct().order_by())
    return sorted(named)


def _team_choices() -> list[tuple[str, str]]:
    return [("", "Every team"), *((team, team) for team in care_teams())]


def _facility_choices() -> list[tuple[str, str]]:
    return [("", "Every facility"), *settings.CARE_FACILITIES.items()]


class ReportFilterForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ChoiceField(label="Care team", required=False, choices=_team_choices)
    facility = forms.ChoiceField(label="Facility", required=False, choices=_facility_choices)

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        end = data.get("end") or self.today
        start = data.get("start") or end - dt.timedelta(weeks=DEFAULT_WEEKS) + dt.timedelta(days=1)
        if start > end:
            self.add_error("start", "“From” must be on or before “To”.")
        elif (end - start).days >= MAX_DAYS:
            self.add_error("start", f"Ask for at most {MAX_DAYS} days at a time.")
        data["start"], data["end"] = start, end
        return data

    def with_days_shown(self) -> "ReportFilterForm":
        """The same filters, with the days filled in when they were left to their defaults."""
        data = dict(self.data.items())
        data.update({"start": self.cleaned_data["start"].isoformat(), "end": self.cleaned_data["end"].isoformat()})
        return ReportFilterForm(data, today=self.today)

    def filters(self) -> ReportFilters:
        data = self.cleaned_data
        return ReportFilters(data["start"], data["end"], care_team=data["team"], facility=data["facility"])


class MonthForm(forms.Form):
    month = forms.RegexField(
        label="Month (YYYY-MM)",
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        required=False,
        error_messages={"invalid": "Use YYYY-MM."},
    )
    team = forms.ChoiceField(label="Care team", required=False, choices=_team_choices)

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def first_day(self) -> dt.date:
        asked = self.cleaned_data.get("month")
        if asked:
            return dt.date.fromisoformat(f"{asked}-01")
        last_month = self.today.replace(day=1) - dt.timedelta(days=1)
        return last_month.replace(day=1)
