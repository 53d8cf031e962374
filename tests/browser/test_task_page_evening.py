"""A nurse's evening on the task page in a real browser (Debian's chromium), and the charge nurse's roster tools:
the timeline in words, a call attempt noted, a resolution typed, lost to an idle logout and restored as a draft, an
outcome; a stale link and a page not for her role in words; the phone layout at 360 and 390 px; axe-core clean on
the task page, the roster, the nurse form and the shift form, desktop and phone. Screenshots: artifacts/screenshots/
(the ones docs/screens.md shows are copied to docs/img/)."""

import datetime as dt
import re
from importlib import import_module

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from care_events.platform.roles import CHARGE_NURSE, NURSE
from tasks_app.care_team import care_team_time, care_team_zone
from tasks_app.models import EscalationTask, NurseShift, ResolutionOutcome, TaskNote
from tasks_app.services.tasks import task_reassign
from tests.browser.accessibility import axe_violations
from tests.browser.login import admin_login
from tests.tasks_app.factories import PASSWORD, NurseShiftFactory, assigned_task, nurse_with_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("resolution_choices"),
]


PHONES = ({"width": 360, "height": 740}, {"width": 390, "height": 844})
DESKTOP = {"width": 1366, "height": 900}


def task_url(live_server, task: EscalationTask, action: str = "change") -> str:
    return live_server.url + reverse(f"admin:tasks_app_escalationtask_{action}", args=[task.pk])


def expire_session(page: Page) -> None:
    """The idle logout, done server-side: the session's row is gone, the browser still sends its cookie."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for cookie in page.context.cookies():
        if cookie["name"] == settings.SESSION_COOKIE_NAME:
            store(session_key=cookie["value"]).delete()


def log_in_here(page: Page, username: str) -> None:
    """Log in on the login page the browser was sent to (admin's, with its next=), as tests/browser/login.py does."""
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.helpers import totp_code

    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    if page.locator("#id_otp_token").count():
        device = TOTPDevice.objects.filter(user=get_user_model().objects.get(username=username)).first()
        # An idle logout is 15 minutes after her last code; here it is seconds, so the code she used to log in
        # would still be the current one (and refused as used): forget it, as the time passed would have.
        TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
        page.fill("#id_otp_token", totp_code(device))
    page.click("input[type=submit]")
    page.wait_for_load_state()


def assert_axe_clean(page: Page, where: str) -> None:
    found = axe_violations(page)
    assert found == [], f"{where}: {found}"


def no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide on a {widths[1]} px screen"


def test_a_nurses_evening_on_the_task_page(page: Page, live_server, screenshot):
    florence = nurse_with_login(role=NURSE, user__first_name="Florence", user__last_name="Nightingale")
    task = assigned_task(florence, minutes_to_breach=50, first_name="Ada", last_name="Moreno")

    admin_login(page, live_server, florence.user.username, PASSWORD)
    page.goto(task_url(live_server, task))
    expect(page.locator("h1")).to_have_text("Ada Moreno: Nurse callback within 2 h")
    expect(page).to_have_title("Ada Moreno: Nurse callback within 2 h | Sequora admin")
    timeline = page.locator("#timeline li")
    expect(timeline.first).to_contain_text("Created by the patient's answer “My ankles are swollen” (High)")
    expect(page.locator("#timeline")).to_contain_text("Due: Breach due (the SLA ends)")
    expect(page.get_by_role("link", name="Call Ada Moreno")).to_have_attribute("href", f"tel:{task.patient.phone}")
    assert_axe_clean(page, "task page, desktop")

    # A call attempt, without resolving: no answer, retry at 20:30.
    page.get_by_label("No answer").check()
    page.get_by_label("Call again at").fill("20:30")
    page.get_by_label("Note", exact=True).fill("Voicemail full.")
    page.get_by_role("button", name="Add to the task").click()
    expect(page.locator(".messagelist")).to_contain_text("Call noted: no answer.")
    expect(page.locator("#timeline")).to_contain_text("Call by Florence Nightingale: no answer, retry at 20:30")
    expect(page.locator("#timeline")).to_contain_text("Voicemail full.")
    expect(page.locator("#timeline")).to_contain_text("Viewed by Florence Nightingale")  # her first visit
    assert TaskNote.objects.get(task=task).call_outcome == "NO_ANSWER"
    task.refresh_from_db()
    assert task.status == "ASSIGNED"
    screenshot("task-page")

    # Resolving: she types for a long call, the idle logout ends her session, nothing typed is lost.
    page.get_by_role("link", name="Resolve…").click()
    expect(page.locator("h1")).to_have_text("Resolve the task of Ada Moreno")
    page.get_by_label("Appointment made").check()
    page.get_by_label("What did you do?").fill("Spoke with Ada; cardiology appointment Tuesday 10:00.")
    page.get_by_role("button", name="Reviewed the medication list with the patient.").click()
    assert_axe_clean(page, "resolve page, desktop")
    screenshot("task-resolve")
    expire_session(page)
    page.reload()
    expect(page).to_have_url(re.compile(r"/admin/login/\?next="))
    log_in_here(page, florence.user.username)

    expect(page.locator("h1")).to_have_text("Resolve the task of Ada Moreno")  # next= brought her back
    expect(page.locator(".draft-status")).to_contain_text("Draft restored")
    expect(page.get_by_label("What did you do?")).to_have_value(
        "Spoke with Ada; cardiology appointment Tuesday 10:00. Reviewed the medication list with the patient."
    )
    expect(page.get_by_label("Appointment made")).to_be_checked()
    screenshot("task-resolve-draft-restored")
    page.get_by_role("button", name="Resolve the task").click()
    expect(page.locator(".messagelist")).to_contain_text("Resolved: Appointment made.")
    task.refresh_from_db()
    assert (task.status, task.resolution_outcome) == (
        "RESOLVED",
        ResolutionOutcome.objects.get(code="appointment-made"),
    )
    assert task.resolution.startswith("Spoke with Ada;")
    assert page.evaluate("() => Object.keys(localStorage).filter((key) => key.startsWith('draft-'))") == []

    page.goto(task_url(live_server, task))
    expect(page.locator("#timeline")).to_contain_text("Resolved by Florence Nightingale: Appointment made")


def test_the_task_page_on_a_phone(page: Page, live_server, screenshot):
    florence = nurse_with_login(role=NURSE, user__first_name="Florence", user__last_name="Nightingale")
    task = assigned_task(florence, minutes_to_breach=-5, first_name="Oscar", last_name="Lindqvist")
    admin_login(page, live_server, florence.user.username, PASSWORD)

    for viewport in PHONES:
        page.set_viewport_size(viewport)
        for action in ("change", "resolve"):
            page.goto(task_url(live_server, task, action))
            no_sideways_scroll(page)
            assert_axe_clean(page, f"task {action} page at {viewport['width']} px")
            for control in page.locator(".task-page .button:visible, .task-page .choice:visible").all():
                box = control.bounding_box()
                assert box is not None and box["height"] >= 44, f"{control.inner_text()!r} is {box} tall"
        page.goto(task_url(live_server, task))
        call = page.get_by_role("link", name="Call Oscar Lindqvist").bounding_box()
        assert call is not None and call["height"] >= 48 and call["width"] >= viewport["width"] * 0.8
        answers = page.locator(".answers tbody tr")
        expect(answers.first).to_have_css("display", "block")  # stacked cards, not a table wider than the screen
        assert page.locator(".task-actions").evaluate("(bar) => getComputedStyle(bar).position") == "sticky"
        screenshot(f"task-page-phone-{viewport['width']}")


def test_a_stale_link_and_a_page_not_for_her_role_say_why_in_words(page: Page, live_server, screenshot):
    florence = nurse_with_login(role=NURSE, user__first_name="Florence", user__last_name="Nightingale")
    grace = nurse_with_login(role=NURSE, user__first_name="Grace", user__last_name="Liu")
    charge = nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton")
    task = assigned_task(florence, first_name="Ada", last_name="Moreno")
    task_reassign(task=task, nurse=grace, actor=charge.user)
    at = care_team_time(timezone.now())

    admin_login(page, live_server, florence.user.username, PASSWORD)
    page.goto(task_url(live_server, task))  # the link in her old SMS
    expect(page.locator(".stale-words")).to_contain_text(f"This task was reassigned to Grace Liu at {at:%H:%M}")
    expect(page.get_by_text("Moreno")).to_have_count(0)
    assert_axe_clean(page, "stale link")
    screenshot("stale-link")
    page.get_by_role("link", name="Go to my tasks").click()
    expect(page.locator("h1")).to_have_text("My tasks")

    page.goto(live_server.url + reverse("admin:tasks_app_escalationtask_board"))
    expect(page.locator("h1")).to_have_text("This page is not open to your role")
    expect(page.locator("#content-main")).to_contain_text("“Care team board” is not part of your role.")
    assert_axe_clean(page, "403 page")
    screenshot("not-for-your-role")
    page.get_by_role("link", name="Back to your tasks").click()
    expect(page.locator("h1")).to_have_text("My tasks")


def test_a_charge_nurse_uses_the_roster_tools_and_the_forms(page: Page, live_server, screenshot):
    charge = nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton", on_shift=False)
    mary = nurse_with_login(user__first_name="Mary", user__last_name="Seacole", on_shift=False)
    edith = nurse_with_login(user__first_name="Edith", user__last_name="Cavell", on_shift=False, care_team="north")
    today = care_team_time(timezone.now()).date()
    monday = today - dt.timedelta(days=today.weekday())

    def at(day: int, hour: int) -> dt.datetime:
        return dt.datetime.combine(monday + dt.timedelta(days=day), dt.time(hour), tzinfo=care_team_zone())

    # Last week: Mary's days Monday to Wednesday. This week: Edith 07-19 then 19-23 (16 h in a row) and back at
    # 05:00 (6 h of rest).
    for day in range(-7, -4):
        NurseShiftFactory(nurse=mary, starts_at=at(day, 7), ends_at=at(day, 19))
    NurseShiftFactory(nurse=edith, starts_at=at(3, 7), ends_at=at(3, 19))
    NurseShiftFactory(nurse=edith, starts_at=at(3, 19), ends_at=at(3, 23))
    NurseShiftFactory(nurse=edith, starts_at=at(4, 5), ends_at=at(4, 13))

    admin_login(page, live_server, charge.user.username, PASSWORD)
    page.goto(live_server.url + reverse("admin:tasks_app_nurseshift_roster"))
    warnings = page.locator(".roster-warnings")
    expect(warnings).to_contain_text("Edith Cavell works 16 h in a row")
    expect(warnings).to_contain_text("(over 12 h)")
    expect(warnings).to_contain_text("Edith Cavell rests 6 h")
    expect(warnings).to_contain_text("(under 8 h)")
    expect(page.locator("tr", has_text="Edith Cavell").locator(".week-hours")).to_have_text("24 h")

    page.get_by_role("button", name="Copy last week's shifts into this week").click()
    expect(page.locator(".messagelist")).to_contain_text("Copied 3 shift(s) from last week.")
    expect(page.locator("tr", has_text="Mary Seacole").locator(".week-hours")).to_have_text("36 h")
    page.get_by_role("button", name="Copy last week's shifts into this week").click()  # twice copies nothing twice
    expect(page.locator(".messagelist")).to_contain_text("Copied 0 shift(s) from last week.")
    assert NurseShift.objects.filter(nurse=mary, starts_at__gte=at(0, 0)).count() == 3

    page.get_by_role(
        "button", name=f"+ Night 19:00-07:00 for Mary Seacole on {monday + dt.timedelta(days=5):%a %-d %b}"
    ).click()
    expect(page.locator(".messagelist")).to_contain_text("Added Mary Seacole")
    assert NurseShift.objects.filter(nurse=mary, starts_at=at(5, 19), ends_at=at(6, 7)).exists()
    coverage = page.locator(".team-coverage")
    expect(coverage.locator("tr", has_text="north")).to_contain_text("h nobody on shift")
    assert_axe_clean(page, "roster, desktop")
    screenshot("roster-tools")
    for viewport in PHONES:
        page.set_viewport_size(viewport)
        page.reload()
        assert_axe_clean(page, f"roster at {viewport['width']} px")
    screenshot("roster-tools-phone")

    for name, url in (
        ("nurse form", reverse("admin:tasks_app_nurse_add")),
        ("nurse change form", reverse("admin:tasks_app_nurse_change", args=[mary.pk])),
        ("shift form", reverse("admin:tasks_app_nurseshift_add")),
    ):
        for viewport in (DESKTOP, *PHONES):
            page.set_viewport_size(viewport)
            page.goto(live_server.url + url)
            if name == "shift form":  # admin's autocomplete built, and named by its label (admin_forms.js)
                expect(page.locator(".select2-selection")).to_have_attribute("aria-labelledby", re.compile("_label"))
            assert_axe_clean(page, f"{name} at {viewport['width']} px")
            text = page.locator("#content").inner_text()
            for word in ("E.164", "Sla minutes", "Source key"):
                assert word not in text, f"{name} says {word!r}"
        screenshot(name.replace(" ", "-"))
