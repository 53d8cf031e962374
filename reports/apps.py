from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks


class ReportsConfig(AppConfig):
    """The care-quality reports: figures computed by SQL over the other apps' rows; no models of its own."""

    name = "reports"
    verbose_name = "Care-quality reports"

    def ready(self) -> None:
        checks.register(check_report_settings)


def check_report_settings(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A misspelt calendar, closure or shift stops startup instead of failing the Reports page."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from reports.business_days import FacilityCalendar

    errors: list[checks.CheckMessage] = []
    for facility in {*settings.CARE_FACILITIES, *settings.REPORTS_FACILITY_HOLIDAYS}:
        try:
            FacilityCalendar(facility, first_year=2026, last_year=2026)
        except ImproperlyConfigured as error:
            errors.append(checks.Error(str(error), id="reports.E001"))
    if any(not 0 <= hour <= 23 for hour in settings.REPORTS_SHIFT_STARTS.values()) or not settings.REPORTS_SHIFT_STARTS:
        errors.append(checks.Error("REPORTS_SHIFT_STARTS: give name=hour pairs, hours 0-23.", id="reports.E002"))
    return errors
