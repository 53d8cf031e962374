"""The roster's week (`roster_week`): the grid of shifts, the hours covered and the gaps, in the care team's zone."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tasks_app.selectors import roster_week
from tests.tasks_app.factories import NurseFactory, NurseShiftFactory

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = dt.date(2030, 12, 2)
NOW = dt.datetime(2030, 12, 4, 12, 0, tzinfo=NEW_YORK)  # the Wednesday of that week


def at(day: int, hour: int, zone: ZoneInfo = NEW_YORK) -> dt.datetime:
    """`hour` o'clock on the `day`-th day after MONDAY (negative: the week before), in `zone`."""
    return dt.datetime.combine(MONDAY + dt.timedelta(days=day), dt.time(hour), tzinfo=zone)


def gaps(week, day: int) -> list[str]:
    return [gap.label for gap in week.days[day].gaps]


def covered_hours(week, day: int) -> list[int]:
    return [hour for hour, covered in enumerate(week.days[day].hours) if covered]


def test_any_day_gives_its_monday_to_sunday_week_and_today_in_the_care_team_zone():
    week = roster_week(day=dt.date(2030, 12, 8), now=NOW)  # a Sunday

    assert (week.monday, week.sunday, week.today) == (MONDAY, dt.date(2030, 12, 8), dt.date(2030, 12, 4))
    assert [day.date for day in week.days] == [MONDAY + dt.timedelta(days=n) for n in range(7)]
    assert [day.is_today for day in week.days] == [False, False, True, False, False, False, False]


def test_the_hours_nobody_covers_are_the_gaps_and_overlapping_shifts_cover_together():
    NurseShiftFactory(starts_at=at(0, 7), ends_at=at(0, 15))
    NurseShiftFactory(starts_at=at(0, 13), ends_at=at(0, 19))  # another nurse, overlapping the first

    week = roster_week(day=MONDAY, now=NOW)

    assert gaps(week, 0) == ["00:00-07:00", "19:00-24:00"]
    assert covered_hours(week, 0) == list(range(7, 19))
    assert gaps(week, 1) == ["00:00-24:00"] and covered_hours(week, 1) == []
    # An add-shift link needs the gap's times, in the zone.
    first = week.days[0].gaps[0]
    assert (first.starts_at, first.ends_at) == (at(0, 0), at(0, 7))
    assert first.starts_at.tzinfo == NEW_YORK


def test_an_hour_only_partly_covered_is_not_covered():
    NurseShiftFactory(starts_at=at(0, 7) + dt.timedelta(minutes=30), ends_at=at(0, 9))

    week = roster_week(day=MONDAY, now=NOW)

    assert covered_hours(week, 0) == [8]
    assert gaps(week, 0) == ["00:00-07:30", "09:00-24:00"]


def test_a_shift_across_midnight_shows_on_its_first_day_and_covers_both():
    nurse = NurseFactory()
    NurseShiftFactory(nurse=nurse, starts_at=at(0, 19), ends_at=at(1, 7))
    NurseShiftFactory(nurse=nurse, starts_at=at(2, 19), ends_at=at(3, 0))  # ends at midnight: not "next day"

    week = roster_week(day=MONDAY, now=NOW)

    [(row_nurse, cells)] = week.rows
    assert row_nurse == nurse
    assert [[shift.text for shift in cell] for cell in cells] == [
        ["19:00-07:00 next day"],
        [],
        ["19:00-00:00"],
        [],
        [],
        [],
        [],
    ]
    assert covered_hours(week, 0) == list(range(19, 24)) and covered_hours(week, 1) == list(range(7))
    assert gaps(week, 0) == ["00:00-19:00"] and gaps(week, 1) == ["07:00-24:00"]
    assert gaps(week, 2) == ["00:00-19:00"] and gaps(week, 3) == ["00:00-24:00"]


def test_a_shift_begun_the_week_before_shows_on_monday_until_its_end():
    NurseShiftFactory(starts_at=at(-1, 19), ends_at=at(0, 7))

    week = roster_week(day=MONDAY, now=NOW)

    [(_, cells)] = week.rows
    assert [shift.text for shift in cells[0]] == ["until 07:00"]
    assert gaps(week, 0) == ["07:00-24:00"]


def test_days_and_times_are_the_care_team_zones(settings):
    utc = ZoneInfo("UTC")
    # 00:00-12:00 UTC on Tuesday: Monday 19:00 to Tuesday 07:00 in New York, Tuesday 01:00-13:00 in Paris.
    NurseShiftFactory(starts_at=at(1, 0, utc), ends_at=at(1, 12, utc))

    new_york = roster_week(day=MONDAY, now=NOW)
    settings.CARE_TEAM_TIME_ZONE = "Europe/Paris"
    paris = roster_week(day=MONDAY, now=NOW)

    assert [[s.text for s in cell] for cell in new_york.rows[0][1]][:2] == [["19:00-07:00 next day"], []]
    assert [[s.text for s in cell] for cell in paris.rows[0][1]][:2] == [[], ["01:00-13:00"]]
    assert gaps(new_york, 1) == ["07:00-24:00"]
    assert gaps(paris, 1) == ["00:00-01:00", "13:00-24:00"]
    assert paris.days[1].gaps[0].starts_at.tzinfo == ZoneInfo("Europe/Paris")
    # Today is the zone's date: 03:00 UTC on Tuesday is still Monday in New York.
    late_monday = dt.datetime(2030, 12, 3, 3, 0, tzinfo=utc)
    settings.CARE_TEAM_TIME_ZONE = "America/New_York"
    assert roster_week(day=MONDAY, now=late_monday).today == MONDAY


def test_an_inactive_nurses_shift_covers_nothing_but_still_shows_on_her_row():
    active = NurseFactory(user__first_name="Mary", user__last_name="Anning")
    inactive = NurseFactory(user__first_name="Mary", user__last_name="Zeller", is_active=False)
    NurseShiftFactory(nurse=inactive, starts_at=at(0, 7), ends_at=at(0, 19))
    NurseFactory(user__last_name="Old", is_active=False)  # inactive, no shift: no row

    week = roster_week(day=MONDAY, now=NOW)

    assert [nurse for nurse, _ in week.rows] == [active, inactive]
    assert week.rows[0][1] == [[] for _ in range(7)]
    assert [shift.text for shift in week.rows[1][1][0]] == ["07:00-19:00"]
    assert gaps(week, 0) == ["00:00-24:00"]
