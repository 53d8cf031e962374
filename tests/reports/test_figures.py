"""Each figure against the hand-computed history of fixture.py (docs/reports.md defines them)."""

import datetime as dt

import pytest

from care_events.models import Episode
from reports import figures
from reports.business_days import FacilityCalendar
from reports.figures import ReportFilters
from tasks_app.models import ResolutionOutcome
from tests.care_events.factories import EpisodeFactory
from tests.reports.fixture import CLOSURES, NOW, make_history

pytestmark = pytest.mark.django_db

NOVEMBER = ReportFilters(first_day=dt.date(2026, 11, 1), last_day=dt.date(2026, 11, 30))


@pytest.fixture(autouse=True)
def _calendar(settings):
    settings.CARE_TEAM_TIME_ZONE = "America/New_York"
    settings.REPORTS_FACILITY_HOLIDAYS = {"GENERAL": "US"}
    settings.REPORTS_CLOSURES = CLOSURES
    settings.REPORTS_SHIFT_STARTS = {"Day": 7, "Evening": 15, "Night": 23}


def test_the_second_business_day_skips_weekends_holidays_and_closures(settings):
    calendar = FacilityCalendar("GENERAL", first_year=2026, last_year=2026)
    assert calendar.tcm_last_day(dt.date(2026, 11, 6)) == dt.date(2026, 11, 12)  # Fri; Mon closed, Wed Veterans Day
    assert calendar.tcm_last_day(dt.date(2026, 11, 25)) == dt.date(2026, 11, 30)  # Wed; Thu Thanksgiving
    assert calendar.tcm_last_day(dt.date(2026, 11, 21)) == dt.date(2026, 11, 24)  # a Saturday discharge
    settings.REPORTS_CLOSURES = []
    open_monday = FacilityCalendar("GENERAL", first_year=2026, last_year=2026)
    assert open_monday.tcm_last_day(dt.date(2026, 11, 6)) == dt.date(2026, 11, 10)


def test_tcm_share_by_week():
    make_history()
    assert figures.tcm_weekly(NOVEMBER, NOW).rows == [
        [dt.date(2026, 11, 2), 4, 2, 50.0, 0],
        [dt.date(2026, 11, 16), 1, 1, 100.0, 0],
        [dt.date(2026, 11, 23), 2, 1, 50.0, 0],
        [dt.date(2026, 11, 30), 0, 0, None, 1],
    ]


def test_the_patients_missed_are_listed_with_their_deadline():
    make_history()
    rows = figures.tcm_missed(NOVEMBER, NOW).rows
    assert [row[0].split()[-1] for row in rows] == ["Thanksgiving-Late", "Friday-Late", "Never-Reached"]
    thanksgiving, friday, never = rows
    assert never[5] is None
    assert friday[4] == dt.datetime(2026, 11, 13, 5, 0, tzinfo=dt.UTC)  # midnight after Thu 12 Nov, New York
    assert thanksgiving[4] == dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC)


def test_time_to_first_contact_median_and_p90():
    make_history()
    assert figures.first_contact_weekly(NOVEMBER, NOW).rows == [
        [dt.date(2026, 11, 2), 3, 140.0, 158.4, 1],  # 46.5, 140, 163 h; one never reached
        [dt.date(2026, 11, 16), 1, 15.0, 15.0, 0],
        [dt.date(2026, 11, 23), 2, 134.0, 140.4, 0],  # 126 and 142 h
        [dt.date(2026, 11, 30), 0, None, None, 1],
    ]


def test_sla_compliance_by_severity_leaves_out_tasks_cancelled_in_time():
    make_history()
    # The MODERATE task, cancelled before its due time, is neither; the LOW one due 1 Dec 09:00 is open at noon.
    assert figures.sla_compliance_weekly(NOVEMBER, NOW).rows == [
        [dt.date(2026, 11, 2), "CRITICAL", 1, 0, 0.0],
        [dt.date(2026, 11, 2), "HIGH", 2, 1, 50.0],
        [dt.date(2026, 11, 2), "LOW", 1, 1, 100.0],  # the nurse's call that reached nobody, resolved in an hour
        [dt.date(2026, 11, 30), "LOW", 2, 1, 50.0],
    ]


def test_breaches_by_hour_and_shift_count_due_times_inside_the_window():
    make_history()
    hours = dict(figures.breaches_by_hour(NOVEMBER, NOW).rows)
    assert {hour: n for hour, n in hours.items() if n} == {"16:00": 1, "23:00": 1}  # LOW's 1 Dec 09:00 is outside
    assert figures.breaches_by_shift(NOVEMBER, NOW).rows == [["Day", 0], ["Evening", 1], ["Night", 1]]


def test_time_to_acknowledge_and_resolve_per_nurse_and_team():
    make_history()
    by_nurse = {row[0]: row[1:] for row in figures.response_times_by_nurse(NOVEMBER, NOW).rows}
    assert by_nurse["Xena Ames"] == [2, 15.0, 19.0, 2, 120.0, 168.0]
    assert by_nurse["Yan Bo"] == [0, None, None, 0, None, None]
    assert by_nurse["Nobody"] == [0, None, None, 2, 60.0, 60.0]  # the two call tasks
    assert figures.response_times_by_team(NOVEMBER, NOW).rows == [
        ["default", 2, 15.0, 19.0, 4, 60.0, 144.0]  # resolved in 60, 60, 60 and 180 min
    ]


def test_escalations_by_action_and_outcome():
    make_history()
    assert figures.escalations_by_action(NOVEMBER, NOW).rows == [
        ["Nurse callback within 2 h", 4],
        ["Urgent hand-off", 1],
        ["Call patient: check-in not answered", 2],
    ]
    outcomes = figures.escalations_by_outcome(NOVEMBER, NOW).rows
    assert outcomes == [[ResolutionOutcome.objects.order_by("position").first().label, 1], ["No outcome recorded", 3]]


def test_filters_by_facility_and_team(settings):
    make_history()
    assert figures.tcm_weekly(ReportFilters(NOVEMBER.first_day, NOVEMBER.last_day, facility="OTHER"), NOW).rows == []
    assert figures.tcm_weekly(ReportFilters(NOVEMBER.first_day, NOVEMBER.last_day, care_team="north"), NOW).rows == []
    settings.CARE_TEAM_BY_FACILITY = {"GENERAL": "north"}
    north = figures.tcm_weekly(ReportFilters(NOVEMBER.first_day, NOVEMBER.last_day, care_team="north"), NOW)
    assert len(north.rows) == 4


def test_readmissions_show_no_data_until_discharges_come_through_the_feed():
    make_history()  # every stay recorded through the agent's API: no visit number, no readmission mark
    assert figures.readmissions(NOVEMBER, NOW) is None


def test_readmissions_among_the_feeds_discharges_by_whether_they_were_reached_in_time():
    make_history()
    stays = {episode.patient.last_name: episode for episode in Episode.objects.select_related("patient")}
    # The feed told us of every stay but Late-Evening's (recorded through the agent's API alone, left out).
    for name, episode in stays.items():
        if name != "Late-Evening":
            Episode.objects.filter(pk=episode.pk).update(visit_number=f"V-{name}")

    def back(name: str, days: int) -> None:
        first = stays[name]
        again = EpisodeFactory(patient=first.patient, admitted_at=first.discharged_at + dt.timedelta(days=days))
        Episode.objects.filter(pk=first.pk).update(readmission=again)

    back("Friday-In-Time", 14)  # reached in time, back within 30 days
    back("Never-Reached", 8)  # not reached, back within 30 days
    back("Friday-Late", 44)  # not reached, back after 44 days: not a 30-day readmission
    back("Late-Evening", 5)  # not the feed's discharge: left out

    # 30 days after the last November discharge, every one of them is decided and its 30 days over.
    later = NOW + dt.timedelta(days=45)
    # In time: Friday-In-Time, Thanksgiving-In-Time, Weekend-Answer; not: Friday-Late, Never-Reached,
    # Thanksgiving-Late and Pending (its deadline, 2 Dec, long past by then).
    assert figures.readmissions(NOVEMBER, later).rows == [["Yes", 3, 1, 33.3], ["No", 4, 1, 25.0]]
    # At NOW no November discharge has had its 30 days yet.
    assert figures.readmissions(NOVEMBER, NOW) is None


def test_a_misspelt_calendar_closure_or_shift_stops_startup(settings):
    from reports.apps import check_report_settings

    assert check_report_settings(None) == []
    settings.REPORTS_FACILITY_HOLIDAYS = {"GENERAL": "XX-NOWHERE"}
    settings.REPORTS_CLOSURES = ["GENERAL:2026-02-30"]
    settings.REPORTS_SHIFT_STARTS = {"Day": 25}
    assert [error.id for error in check_report_settings(None)] == ["reports.E001", "reports.E002"]
