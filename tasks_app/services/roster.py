"""The roster's one-click tools: copy last week's shifts into this week, and add a day or a night shift from its
template. Shifts are written in the care team's zone (a 07:00 shift stays 07:00 across a daylight-saving change)
and never over another shift of the same nurse (the model's exclusion constraint; each copy in its own savepoint)."""

import dataclasses
import datetime as dt
import enum

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tasks_app.care_team import care_team_time, care_team_zone
from tasks_app.models import Nurse, NurseShift


class ShiftTemplate(enum.Enum):
    """The care team's two shifts (start, length in hours): 07:00-19:00 and 19:00-07:00 the next day."""

    DAY = (dt.time(7, 0), 12)
    NIGHT = (dt.time(19, 0), 12)

    @property
    def label(self) -> str:
        start, hours = self.value
        end = (dt.datetime.combine(dt.date.min, start) + dt.timedelta(hours=hours)).time()
        return f"{self.name.capitalize()} {start:%H:%M}-{end:%H:%M}"


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=care_team_zone())


@transaction.atomic
def shift_add_from_template(*, nurse: Nurse, day: dt.date, template: ShiftTemplate) -> NurseShift:
    """One shift of `template` for `nurse` starting on `day`; an overlap is refused naming the shift it clashes
    with (ValidationError, as on the shift form)."""
    start, hours = template.value
    starts_at = _at(day, start)
    end_day = day + dt.timedelta(days=(start.hour + hours) // 24)
    ends_at = _at(end_day, (dt.datetime.combine(day, start) + dt.timedelta(hours=hours)).time())
    shift = NurseShift(nurse=nurse, starts_at=starts_at, ends_at=ends_at)
    shift.full_clean()
    shift.save()
    return shift


@dataclasses.dataclass(frozen=True)
class WeekCopy:
    copied: int
    skipped: list[str]  # the shifts not copied, each with why ("Mary Seacole Mon 14 Dec 07:00-19:00: overlaps ...")


@transaction.atomic
def shifts_copy_week(*, from_monday: dt.date, to_monday: dt.date) -> WeekCopy:
    """Every active nurse's shifts that start in the week of `from_monday` (care team's zone), again in the week of
    `to_monday` at the same wall-clock times. A copy that would overlap a shift of the same nurse is skipped and said
    (running it twice copies nothing twice)."""
    begins, ends = _at(from_monday, dt.time.min), _at(from_monday + dt.timedelta(days=7), dt.time.min)
    offset = to_monday - from_monday
    sources = NurseShift.objects.filter(
        starts_at__gte=begins, starts_at__lt=ends, nurse__is_active=True
    ).select_related("nurse__user")
    copied, skipped = 0, []
    for source in sources.order_by("starts_at"):
        start, end = care_team_time(source.starts_at), care_team_time(source.ends_at)
        shift = NurseShift(
            nurse=source.nurse,
            starts_at=_at(start.date() + offset, start.time()),
            ends_at=_at(end.date() + offset, end.time()),
        )
        try:
            shift.full_clean()
            with transaction.atomic():  # a savepoint: a clash the check missed (a race) skips this one only
                shift.save()
        except (ValidationError, IntegrityError) as refused:
            why = "; ".join(getattr(refused, "messages", [])) or "overlaps another shift"
            skipped.append(f"{shift}: {why}")
            continue
        copied += 1
    return WeekCopy(copied=copied, skipped=skipped)
