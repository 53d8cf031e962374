"""The care team's clock: the zone admin shows and reads times in (CARE_TEAM_TIME_ZONE), and an SLA's state."""

import datetime as dt
import enum
import zoneinfo
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.utils import timezone


def care_team_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.CARE_TEAM_TIME_ZONE)


def care_team_time(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment, care_team_zone())


def shift_window_label(starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    """ "Mon 7 Dec 07:00-19:00 America/New_York" (the end's date too when the shift crosses midnight)."""
    start, end = care_team_time(starts_at), care_team_time(ends_at)
    end_format = "%H:%M" if end.date() == start.date() else "%a %-d %b %H:%M"
    return f"{start:%a %-d %b %H:%M}-{end.strftime(end_format)} {settings.CARE_TEAM_TIME_ZONE}"


class SlaState(enum.StrEnum):
    """How much of a task's SLA is used (docs/screens.md, "Urgency first"): the same bands for a 30-minute CRITICAL
    task and a 24-hour callback, so the colour says how close to its own deadline a task is, not how many minutes."""

    ON_TIME = "on-time"  # under 50 % used
    SOON = "soon"  # 50-75 % used
    AT_RISK = "at-risk"  # over 75 % used (the SLA's warning)
    BREACHED = "breached"  # 100 %

    @property
    def label(self) -> str:
        return {"on-time": "On time", "soon": "Due soon", "at-risk": "At risk", "breached": "Breached"}[self.value]


# The fraction of the SLA used at which a task is "due soon" and "at risk"; care_team.js reads the same numbers.
SLA_SOON_FRACTION = 0.5
SLA_AT_RISK_FRACTION = 0.75


def sla_used_fraction(*, breach_at: dt.datetime, sla_minutes: int, now: dt.datetime) -> float:
    """0 when the task was created, 1 at its breach (above 1 after it)."""
    return 1 - (breach_at - now).total_seconds() / (sla_minutes * 60)


def sla_state(*, breach_at: dt.datetime, sla_minutes: int, now: dt.datetime) -> SlaState:
    if now >= breach_at:
        return SlaState.BREACHED
    used = sla_used_fraction(breach_at=breach_at, sla_minutes=sla_minutes, now=now)
    if used >= SLA_AT_RISK_FRACTION:
        return SlaState.AT_RISK
    return SlaState.SOON if used >= SLA_SOON_FRACTION else SlaState.ON_TIME


def time_left_label(*, breach_at: dt.datetime, now: dt.datetime) -> str:
    """ "1 h 05 min left", "12 min left", "breached 3 min ago" (the board's script writes the same words)."""
    seconds = int((breach_at - now).total_seconds())
    minutes = abs(seconds) // 60
    span = f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
    return f"{span} left" if seconds > 0 else f"breached {span} ago"


@register()
def check_care_team_time_zone(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> Sequence[CheckMessage]:
    """A misspelt zone is refused at startup rather than on the first admin page."""
    try:
        care_team_zone()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [Error(f"CARE_TEAM_TIME_ZONE={settings.CARE_TEAM_TIME_ZONE!r} is not an IANA time zone name.")]
    return []
