"""Routine messages to a patient are never sent inside the patient's local quiet hours."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings


def in_quiet_hours(moment: dt.datetime, tz_name: str) -> bool:
    start, end = settings.QUIET_HOURS_START, settings.QUIET_HOURS_END
    hour = moment.astimezone(ZoneInfo(tz_name)).hour
    if start == end:
        return False
    if start > end:  # the usual case: the quiet hours span midnight (21:00-08:00)
        return hour >= start or hour < end
    return start <= hour < end


def next_allowed_moment(moment: dt.datetime, tz_name: str) -> dt.datetime:
    """`moment` itself if it is outside quiet hours, else the next end of quiet hours in the patient's zone."""
    if not in_quiet_hours(moment, tz_name):
        return moment
    local = moment.astimezone(ZoneInfo(tz_name))
    candidate = local.replace(hour=settings.QUIET_HOURS_END, minute=0, second=0, microsecond=0)
    if candidate <= local:
        # Adding a day to an aware datetime keeps the wall-clock hour, so this stays right across DST changes.
        candidate += dt.timedelta(days=1)
    return candidate.astimezone(dt.UTC)
