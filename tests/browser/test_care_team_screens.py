"""The care team's screens in a real browser (Debian's chromium): a nurse resolves her task, a charge nurse works
the board and finds next week's gap in the roster. Screenshots: artifacts/screenshots/."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from care_events.platform.bus.models import Event
from care_events.platform.roles import CHARGE_NURSE, NURSE
from notifications.models import NotificationLog
from tasks_app.care_team import care_team_time, care_team_zone
from tasks_app.models import EscalationTask, NurseShift
from tests.browser.login import admin_login
from tests.helpers import drain
from tests.tasks_app.factories import PASSWORD, NurseShiftFactory, assigned_task, nurse_with_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_nurse_sees_what_the_patient_said_and_resolves_her_task(page: Page, live_server, screenshot):
    nurse = nurse_with_login(role=NURSE, user__first_name="Florence", user__last_name="Nightingale")
    other = nurse_with_login(role=NURSE, user__first_name="Mary", user__last_name="Seacole")
    task = assigned_task(nurse, minutes_to_breach=25, first_name="Ada", last_name="Moreno")
    assigned_task(nurse, minutes_to_breach=110, first_name="Oscar", last_name="Lindqvist")
    assigned_task(other, first_name="Someone", last_name="Else")

    admin_login(page, live_server, nurse.user.username, PASSWORD)

    expect(page.locator("h1")).to_have_text("My tasks")
    cards = page.locator("article.task-card")
    expect(cards).to_have_count(2)
    first = cards.first
    expect(first.locator(".patient-name")).to_have_text("Ada Moreno")
    expect(first).to_have_attribute("data-sla", "at-risk")
    expect(first.locator("tr.caused")).to_contain_text("My ankles are swollen")
    expect(first.locator(".summary")).to_contain_text("Short of breath since last night")
    expect(page.get_by_text("Someone Else")).to_have_count(0)
    screenshot("nurse-worklist")

    first.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".messagelist")).to_contain_text("Acknowledged.")
    page.locator("article.task-card").first.get_by_role("link", name="Resolve…").click()
    page.get_by_label("What did you do?").fill("Called Ada; diuretic dose adjusted with the cardiologist.")
    screenshot("nurse-resolve")
    page.get_by_role("button", name="Resolve the task").click()

    expect(page.locator(".messagelist")).to_contain_text("Resolved with a note.")
    expect(page.locator("article.task-card")).to_have_count(1)
    screenshot("nurse-worklist-after-resolve")
    task.refresh_from_db()
    assert (task.status, task.resolution) == ("RESOLVED", "Called Ada; diuretic dose adjusted with the cardiologist.")
    assert Event.objects.filter(name="task/resolved", data__task_id=str(task.pk)).exists()


def test_a_charge_nurse_sees_the_board_by_time_to_breach_and_reassigns_a_task(page: Page, live_server, screenshot):
    charge = nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton", is_supervisor=True)
    florence = nurse_with_login(user__first_name="Florence", user__last_name="Nightingale", max_open_tasks=4)
    mary = nurse_with_login(user__first_name="Mary", user__last_name="Seacole", max_open_tasks=6)
    late = assigned_task(florence, minutes_to_breach=-12, first_name="Ada", last_name="Moreno")
    assigned_task(florence, minutes_to_breach=20, first_name="Oscar", last_name="Lindqvist")
    assigned_task(mary, minutes_to_breach=95, first_name="Grace", last_name="Okafor")
    assigned_task(None, minutes_to_breach=200, first_name="Henry", last_name="Dubois")

    admin_login(page, live_server, charge.user.username, PASSWORD)

    expect(page.locator("h1")).to_have_text("Care team board")
    expect(page.get_by_role("link", name="1 Breached")).to_be_visible()
    rows = page.locator("#open-tasks tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_have_attribute("data-sla", "breached")
    expect(rows.nth(0)).to_contain_text("Ada Moreno")
    expect(rows.nth(0).locator(".countdown")).to_contain_text("breached 12 min ago")
    expect(rows.nth(1)).to_have_attribute("data-sla", "at-risk")
    expect(rows.nth(2)).to_contain_text("Grace Okafor")
    expect(page.locator("#unassigned")).to_contain_text("Henry Dubois")
    expect(page.locator("#on-shift")).to_contain_text("2 / 4")
    screenshot("board")

    expect(rows.nth(3).get_by_role("link", name="Assign")).to_be_visible()  # Henry's task: nobody holds it
    rows.nth(0).get_by_role("link", name="Reassign").click()
    expect(page.locator("h1")).to_have_text("Reassign the task of Ada Moreno")
    page.get_by_label("Give the task to").select_option(label="Mary Seacole (on shift, 1 of 6 tasks)")
    screenshot("board-reassign")
    page.get_by_role("button", name="Reassign").click()

    expect(page.locator("h1")).to_have_text("Care team board")
    expect(page.locator(".messagelist")).to_contain_text("Reassigned from Florence Nightingale to Mary Seacole (")
    expect(page.locator(".messagelist")).to_contain_text("Now waiting for Mary Seacole to acknowledge.")
    expect(page.locator("#open-tasks tbody tr").first).to_contain_text("Mary Seacole")
    screenshot("board-after-reassign")
    late.refresh_from_db()
    assert late.assigned_to == mary
    assert Event.objects.filter(name="task/reassigned", data__task_id=str(late.pk)).exists()
    assert EscalationTask.objects.filter(assigned_to=florence, status="ASSIGNED").count() == 1
    drain()  # the reassignment's message to Mary, as a worker would send it
    assert NotificationLog.objects.filter(recipient_nurse=mary, type="TASK_REASSIGNED").exists()


def test_a_charge_nurse_finds_the_gap_in_next_weeks_roster_and_adds_a_shift(page: Page, live_server, screenshot):
    charge = nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton")
    florence = nurse_with_login(user__first_name="Florence", user__last_name="Nightingale", on_shift=False)
    mary = nurse_with_login(user__first_name="Mary", user__last_name="Seacole", on_shift=False)
    today = care_team_time(timezone.now()).date()
    next_monday = today + dt.timedelta(days=7 - today.weekday())

    def at(day: int, hour: int) -> dt.datetime:
        return dt.datetime.combine(next_monday + dt.timedelta(days=day), dt.time(hour), tzinfo=care_team_zone())

    for day in range(7):  # days 07-19 and nights 19-07, except Wednesday night
        NurseShiftFactory(nurse=florence, starts_at=at(day, 7), ends_at=at(day, 19))
        if day != 2:
            NurseShiftFactory(nurse=mary, starts_at=at(day, 19), ends_at=at(day + 1, 7))
    NurseShiftFactory(nurse=mary, starts_at=at(-1, 19), ends_at=at(0, 7))  # Sunday night into Monday

    admin_login(page, live_server, charge.user.username, PASSWORD)
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Home").click()
    expect(page.locator("#care-team-home .home-link").first).to_contain_text("Board")
    screenshot("admin-home")
    page.get_by_role("link", name="Roster").click()
    page.get_by_role("link", name="Next week →").click()

    expect(page.locator(".screen-intro")).to_contain_text(f"Week of {next_monday:%a} {next_monday.day}")
    gaps = page.locator("tr.gaps td")
    expect(gaps.nth(2)).to_contain_text("19:00-24:00")
    expect(gaps.nth(3)).to_contain_text("00:00-07:00")
    expect(gaps.nth(0)).to_contain_text("Covered all day")
    expect(page.locator("tr.coverage td").nth(2).locator(".hour.gap")).to_have_count(5)
    screenshot("roster-next-week")

    gaps.nth(2).get_by_role("link", name="Add shift").click()
    expect(page.locator("h1")).to_have_text("Add nurse shift")
    expect(page.locator("#id_starts_at_0")).to_have_value(f"{next_monday + dt.timedelta(days=2):%Y-%m-%d}")
    expect(page.locator("#id_starts_at_1")).to_have_value("19:00:00")
    expect(page.get_by_text("Starts (America/New_York)")).to_be_visible()
    page.locator(".field-nurse .select2-selection").click()  # admin's autocomplete widget
    page.locator(".select2-search__field").fill("Barton")
    page.locator(".select2-results__option", has_text="Clara Barton").click()
    screenshot("roster-add-shift")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    assert NurseShift.objects.filter(nurse=charge, starts_at=at(2, 19), ends_at=at(3, 0)).exists()
