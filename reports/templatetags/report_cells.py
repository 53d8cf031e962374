"""How a report's table shows a value: times in the care team's zone, a dash for "none"."""

import datetime as dt
from typing import Any

from django import template

from tasks_app.care_team import care_team_time

register = template.Library()


@register.filter
def report_cell(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dt.datetime):
        return care_team_time(value).strftime("%a %-d %b %Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%a %-d %b %Y")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
