import datetime as dt

import pytest

from care_events.quiet_hours import in_quiet_hours, next_allowed_moment
from care_events.services.checkin import checkin_due_at

UTC = dt.UTC


@pytest.mark.parametrize(
    ("utc", "zone", "quiet"),
    [
        (dt.datetime(2026, 12, 1, 3, 0, tzinfo=UTC), "America/New_York", True),  # 22:00 local
        (dt.datetime(2026, 12, 1, 14, 0, tzinfo=UTC), "America/New_York", False),  # 09:00 local
        (dt.datetime(2026, 12, 1, 12, 59, tzinfo=UTC), "America/New_York", True),  # 07:59 local
        (dt.datetime(2026, 12, 1, 13, 0, tzinfo=UTC), "America/New_York", False),  # 08:00 local
        (dt.datetime(2026, 12, 1, 3, 0, tzinfo=UTC), "Asia/Tokyo", False),  # 12:00 local
    ],
)
def test_quiet_hours_are_read_in_the_patients_zone(utc, zone, quiet):
    assert in_quiet_hours(utc, zone) is quiet


def test_a_moment_in_quiet_hours_moves_to_eight_local_the_next_morning():
    late_evening = dt.datetime(2026, 12, 1, 3, 30, tzinfo=UTC)  # 22:30 in New York
    assert next_allowed_moment(late_evening, "America/New_York") == dt.datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    early_morning = dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 05:00 in New York, same day
    assert next_allowed_moment(early_morning, "America/New_York") == dt.datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def test_the_move_keeps_eight_local_across_a_dst_change():
    # 22:00 EDT on Saturday 31 Oct 2026; clocks go back on Sunday 1 Nov, so 08:00 EST is 13:00 UTC.
    saturday_night = dt.datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    assert next_allowed_moment(saturday_night, "America/New_York") == dt.datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


def test_the_checkin_is_24_hours_after_discharge_unless_that_is_quiet(settings):
    settings.CHECKIN_DELAY = 24 * 3600
    afternoon = dt.datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # 14:00 New York
    assert checkin_due_at(discharged_at=afternoon, tz_name="America/New_York") == afternoon + dt.timedelta(days=1)
    night = dt.datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # 23:00 New York
    assert checkin_due_at(discharged_at=night, tz_name="America/New_York") == dt.datetime(
        2026, 12, 3, 13, 0, tzinfo=UTC
    )


def test_equal_start_and_end_turn_quiet_hours_off(settings):
    settings.QUIET_HOURS_START = settings.QUIET_HOURS_END = 0
    assert not in_quiet_hours(dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC), "America/New_York")
