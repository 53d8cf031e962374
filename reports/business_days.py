"""TCM's clock: each facility's business days (weekdays that are neither a public holiday of its calendar nor a
configured closure) and the moment its two business days after a discharge run out (docs/reports.md)."""

import datetime as dt
import functools

import holidays
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tasks_app.care_team import care_team_zone

TCM_BUSINESS_DAYS = 2


@functools.cache
def _public_holidays(code: str, years: tuple[int, ...]) -> holidays.HolidayBase:
    country, _, subdivision = code.partition("-")
    try:
        return holidays.country_holidays(country, subdiv=subdivision or None, years=years)
    except NotImplementedError as error:
        raise ImproperlyConfigured(f"REPORTS_FACILITY_HOLIDAYS: unknown calendar {code!r}.") from error


def _closures(facility: str) -> set[dt.date]:
    days = set()
    for item in settings.REPORTS_CLOSURES:
        where, _, day = item.partition(":")
        if where in (facility, "*"):
            try:
                days.add(dt.date.fromisoformat(day))
            except ValueError as error:
                raise ImproperlyConfigured(f"REPORTS_CLOSURES: {item!r} is not facility:YYYY-MM-DD.") from error
    return days


class FacilityCalendar:
    """The business days of one facility between two years (inclusive)."""

    def __init__(self, facility: str, *, first_year: int, last_year: int) -> None:
        code = settings.REPORTS_FACILITY_HOLIDAYS.get(facility, settings.REPORTS_DEFAULT_HOLIDAYS)
        self.holidays = _public_holidays(code, tuple(range(first_year, last_year + 2)))
        self.closures = _closures(facility)

    def is_business_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.holidays and day not in self.closures

    def tcm_last_day(self, discharge_day: dt.date) -> dt.date:
        """The second business day after the day of discharge (the discharge day itself never counts)."""
        day, counted = discharge_day, 0
        while counted < TCM_BUSINESS_DAYS:
            day += dt.timedelta(days=1)
            counted += self.is_business_day(day)
        return day


def end_of_day(day: dt.date) -> dt.datetime:
    """Midnight after `day` in the care team's zone: a contact before it is within the day."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=care_team_zone())


def tcm_deadlines(facilities: list[str], first: dt.date, last: dt.date) -> list[tuple[str, dt.date, dt.datetime]]:
    """(facility, discharge day, deadline) for every facility and every day from `first` to `last`."""
    rows = []
    for facility in facilities:
        calendar = FacilityCalendar(facility, first_year=first.year, last_year=last.year)
        day = first
        while day <= last:
            rows.append((facility, day, end_of_day(calendar.tcm_last_day(day))))
            day += dt.timedelta(days=1)
    return rows
