"""The board and the worklist in a real browser (Debian's chromium): the urgency order, a breach seen live without a
reload (tiles, row and tab title together; focus, a ticked box and a half-typed search kept), the opt-in alerts,
the idle-logout warning, filters and search, a phone's width, render time at 2,000 open tasks, and axe-core.
Screenshots for docs/screens.md are written to docs/img/."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from care_events.models import Episode, Patient
from care_events.platform.roles import CHARGE_NURSE, NURSE
from tasks_app.models import ActionType, EscalationTask
from tests.browser.accessibility import axe_violations
from tests.browser.login import admin_login
from tests.care_events.factories import EpisodeFactory, PatientFactory
from tests.tasks_app.factories import PASSWORD, EscalationTaskFactory, assigned_task, nurse_with_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOARD = "/admin/tasks_app/escalationtask/board/"
WORKLIST = "/admin/tasks_app/escalationtask/worklist/"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
PHONES = [{"width": 360, "height": 780}, {"width": 390, "height": 844}]

# A stand-in for the browser's Notification API (the outside world here: the desktop), recording what was shown.
FAKE_NOTIFICATIONS = """
window.__shown = [];
window.Notification = class { constructor(title) { window.__shown.push(title); } };
window.Notification.permission = "granted";
window.Notification.requestPermission = () => Promise.resolve("granted");
"""


@pytest.fixture(autouse=True)
def no_background_refresh(settings):
    """No polling unless a test is about it: a request still running when the test's database is flushed would
    deadlock the flush."""
    settings.CARE_TEAM_REFRESH_SECONDS = 0


def stop_polling(page: Page) -> None:
    """Leave the page and give a request already sent the time to finish before the database is flushed."""
    page.goto("about:blank")
    page.wait_for_timeout(1500)


def sla_task(nurse, *, sla: int, left: float, severity: str = "HIGH", **fields) -> EscalationTask:
    """An open task of an SLA of `sla` minutes with `left` minutes of it left (negative: breached that long ago)."""
    task = assigned_task(nurse, minutes_to_breach=0, severity=severity, sla_minutes=sla, **fields)
    breach_task_at(task, timezone.now() + dt.timedelta(minutes=left))
    return task


def breach_task_at(task: EscalationTask, breach: dt.datetime) -> None:
    warning = breach - dt.timedelta(minutes=task.sla_minutes * 0.25)
    EscalationTask.objects.filter(pk=task.pk).update(sla_breach_at=breach, sla_warning_at=warning)


def no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def small_tap_targets(page: Page) -> list[str]:
    """Visible buttons, the filter's fields and the tasks' links smaller than 44 px tall."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll(
              '#care-team .button, #care-team button, .task-filters select, .task-filters input:not([type=checkbox]),'
              + ' .filter-check label, .pick, .tile,'
              + ' .task-actions a, .patient-facts a'))
            .filter(el => el.offsetParent !== null && el.type !== 'hidden')
            .filter(el => el.getBoundingClientRect().height < 44)
            .map(el => el.outerHTML.slice(0, 80))"""
    )


def test_a_breached_critical_task_is_above_an_older_high_one_and_the_bands_say_so(page: Page, live_server):
    charge = nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton")
    florence = nurse_with_login(user__first_name="Florence", user__last_name="Nightingale")
    sla_task(florence, sla=120, left=-45, severity="HIGH", first_name="Oscar", last_name="Older")
    sla_task(florence, sla=30, left=-2, severity="CRITICAL", first_name="Ada", last_name="Critical")
    sla_task(florence, sla=30, left=21, severity="CRITICAL", first_name="Grace", last_name="Okafor")
    sla_task(florence, sla=1440, left=120, severity="LOW", first_name="Henry", last_name="Dubois")

    admin_login(page, live_server, charge.user.username, PASSWORD)
    page.goto(BOARD)

    rows = page.locator("#open-task-rows tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Ada Critical")
    expect(rows.nth(0).locator(".sla-badge")).to_have_text("Breached")
    expect(rows.nth(0).locator(".severity")).to_have_text("Critical")
    expect(rows.nth(1)).to_contain_text("Oscar Older")
    expect(rows.nth(2)).to_contain_text("Henry Dubois")  # 2 h of a day left: 92 % used
    expect(rows.nth(2).locator(".sla-badge")).to_have_text("At risk")
    expect(rows.nth(3).locator(".sla-badge")).to_have_text("On time")  # 21 of 30 min left: 30 % used
    expect(page.get_by_role("link", name="2 Breached")).to_be_visible()
    assert page.title().startswith("(2 breached, 4 not acknowledged) Care team board")


def test_a_breach_shows_live_without_a_reload_keeping_focus_ticks_and_typing(page: Page, live_server, settings):
    settings.CARE_TEAM_REFRESH_SECONDS = 1
    charge = nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton")
    florence = nurse_with_login(user__first_name="Florence", user__last_name="Nightingale")
    soon = sla_task(florence, sla=120, left=50, first_name="Ada", last_name="Moreno")
    sla_task(florence, sla=120, left=30, first_name="Oscar", last_name="Lindqvist")
    sla_task(florence, sla=120, left=100, first_name="Grace", last_name="Okafor")
    page.add_init_script(FAKE_NOTIFICATIONS)
    background = []
    page.on("request", lambda request: "partial=1" in request.url and background.append(request.headers))

    admin_login(page, live_server, charge.user.username, PASSWORD)
    page.goto(BOARD)
    page.get_by_role("button", name="Sound and desktop alerts: off").click()
    expect(page.get_by_role("button", name="Sound and desktop alerts: on")).to_be_visible()
    page.evaluate("window.__notReloaded = true")
    page.get_by_label("Find a patient").fill("Ad")  # half typed, not sent
    page.locator("#open-task-rows tr", has_text="Grace Okafor").locator("input[type=checkbox]").check()
    page.locator("#open-task-rows tr", has_text="Oscar Lindqvist").get_by_role("link", name="Reassign").focus()
    expect(page.locator(".tile[data-sla=breached] .tile-count")).to_have_text("0")

    breach_task_at(soon, timezone.now() - dt.timedelta(minutes=1))  # the server's clock says so, not the page's

    expect(page.locator(".tile[data-sla=breached] .tile-count")).to_have_text("1")
    first = page.locator("#open-task-rows tr").first
    expect(first).to_contain_text("Ada Moreno")
    expect(first).to_have_attribute("data-sla", "breached")
    expect(page).to_have_title("(1 breached, 3 not acknowledged) Care team board | Sequora admin")
    assert page.evaluate("window.__notReloaded") is True
    assert page.evaluate("document.activeElement.textContent").startswith("Reassign")
    assert "Oscar Lindqvist" in page.evaluate("document.activeElement.closest('tr').textContent")
    expect(page.get_by_label("Find a patient")).to_have_value("Ad")
    expect(page.locator("#open-task-rows tr", has_text="Grace Okafor").locator("input[type=checkbox]")).to_be_checked()
    page.wait_for_function("window.__shown.length > 0")
    assert page.evaluate("window.__shown") == ["A task has breached its time"]

    critical = sla_task(None, sla=30, left=29, severity="CRITICAL", first_name="Ines", last_name="Alvarez")
    expect(page.locator("#unassigned-rows")).to_contain_text("Ines Alvarez")
    page.wait_for_function("window.__shown.length > 1")
    assert page.evaluate("window.__shown")[1] == "A new critical task"
    assert critical.patient.last_name not in " ".join(page.evaluate("window.__shown"))  # no patient on a lock screen
    assert background and all(headers.get("x-background-refresh") == "1" for headers in background)
    stop_polling(page)


def test_the_page_warns_a_minute_before_the_idle_logout_and_stay_signed_in_is_a_real_request(page: Page, live_server):
    nurse = nurse_with_login(role=NURSE, user__first_name="Florence", user__last_name="Nightingale")
    sla_task(nurse, sla=120, left=60, first_name="Ada", last_name="Moreno")
    admin_login(page, live_server, nurse.user.username, PASSWORD)
    page.clock.install()
    page.goto(WORKLIST)
    sent = []
    page.on("request", lambda request: "partial=1" in request.url and sent.append(request.headers))
    warning = page.get_by_role("alertdialog")
    expect(warning).to_be_hidden()

    page.clock.run_for("13:58")
    expect(warning).to_be_hidden()
    page.clock.run_for("00:05")  # 14 min 03 s idle of 15
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("You will be signed out in")
    expect(page.get_by_role("button", name="Stay signed in")).to_be_focused()
    page.get_by_role("button", name="Stay signed in").click()

    expect(warning).to_be_hidden()
    assert any("x-background-refresh" not in headers for headers in sent)  # counts as her activity
    page.clock.run_for("10:00")
    expect(warning).to_be_hidden()
    stop_polling(page)


def test_filters_and_search_narrow_the_worklist_and_are_remembered(page: Page, live_server):
    charge = nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton")
    florence = nurse_with_login(user__first_name="Florence", user__last_name="Nightingale")
    ada = sla_task(florence, sla=120, left=60, first_name="Ada", last_name="Moreno")
    Patient.objects.filter(pk=ada.patient_id).update(phone="+12025550143", date_of_birth=dt.date(1948, 3, 2))
    sla_task(florence, sla=120, left=50, severity="LOW", first_name="Oscar", last_name="Lindqvist")
    sla_task(
        None,
        sla=30,
        left=-5,
        severity="CRITICAL",
        first_name="Grace",
        last_name="Okafor",
        action_type=ActionType.URGENT_HANDOFF,
    )

    admin_login(page, live_server, charge.user.username, PASSWORD)
    page.goto(WORKLIST)
    cards = page.locator("article.task-card")
    expect(cards).to_have_count(3)
    expect(cards.first).to_contain_text("Grace Okafor")

    page.get_by_label("Find a patient").fill("(202) 555-0143")
    page.get_by_role("button", name="Show").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Ada Moreno")
    page.get_by_label("Find a patient").fill("3/2/1948")
    page.get_by_role("button", name="Show").click()
    expect(cards).to_have_count(1)

    page.get_by_label("Find a patient").fill("")
    page.get_by_label("Nurse").select_option(label="Nobody (unassigned)")
    page.get_by_label("Breached only").check()
    page.get_by_role("button", name="Show").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Grace Okafor")

    page.goto(WORKLIST)  # another visit: her filters still apply
    expect(cards).to_have_count(1)
    expect(page.get_by_label("Breached only")).to_be_checked()
    page.get_by_label("Severity").select_option("LOW")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No open task matches these filters.")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(cards).to_have_count(3)


@pytest.mark.parametrize("viewport", PHONES, ids=["360", "390"])
def test_the_worklist_on_a_phone_has_no_sideways_scroll_big_tap_targets_and_no_axe_violations(
    page: Page, live_server, viewport, settings
):
    settings.CARE_TEAM_REFRESH_SECONDS = 15  # as in production: the screenshot says so
    page.set_viewport_size(viewport)
    nurse = nurse_with_login(role=NURSE, user__first_name="Florence", user__last_name="Nightingale")
    sla_task(nurse, sla=30, left=-3, severity="CRITICAL", first_name="Ada", last_name="Moreno-Villalobos")
    sla_task(nurse, sla=120, left=70, first_name="Oscar", last_name="Lindqvist")
    admin_login(page, live_server, nurse.user.username, PASSWORD)
    page.goto(WORKLIST)
    expect(page.locator("article.task-card")).to_have_count(2)

    assert no_sideways_scroll(page)
    assert small_tap_targets(page) == []
    assert axe_violations(page) == []
    if viewport["width"] == 390:
        DOCS_IMG.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS_IMG / "worklist-phone.png"), full_page=True)
    stop_polling(page)


def test_the_board_on_a_phone_and_at_a_desktop_has_no_axe_violations(page: Page, live_server, settings):
    settings.CARE_TEAM_REFRESH_SECONDS = 15  # as in production: the screenshots say so
    charge = nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton")
    florence = nurse_with_login(user__first_name="Florence", user__last_name="Nightingale")
    sla_task(florence, sla=30, left=-3, severity="CRITICAL", first_name="Ada", last_name="Moreno")
    sla_task(florence, sla=120, left=20, first_name="Oscar", last_name="Lindqvist")
    sla_task(florence, sla=120, left=50, severity="MODERATE", first_name="Grace", last_name="Okafor")
    sla_task(None, sla=120, left=100, severity="LOW", first_name="Henry", last_name="Dubois")
    admin_login(page, live_server, charge.user.username, PASSWORD)
    DOCS_IMG.mkdir(exist_ok=True)

    page.goto(BOARD)
    expect(page.locator("#open-task-rows tr")).to_have_count(4)
    assert axe_violations(page) == []
    page.screenshot(path=str(DOCS_IMG / "board-desktop.png"), full_page=True)
    page.goto(WORKLIST)
    assert axe_violations(page) == []
    page.screenshot(path=str(DOCS_IMG / "worklist-desktop.png"), full_page=True)

    page.set_viewport_size(PHONES[1])
    page.goto(BOARD)
    assert no_sideways_scroll(page)
    assert axe_violations(page) == []
    page.screenshot(path=str(DOCS_IMG / "board-phone.png"), full_page=True)
    stop_polling(page)


def open_tasks_in_bulk(count: int, nurses: list) -> None:
    """`count` open tasks, each of its own patient and episode, in three INSERTs (no events: a screen's test)."""
    patients = Patient.objects.bulk_create(PatientFactory.build_batch(count))
    episodes = Episode.objects.bulk_create([EpisodeFactory.build(patient=patient) for patient in patients])
    now = timezone.now()
    tasks = []
    for index, episode in enumerate(episodes):
        breach = now + dt.timedelta(minutes=index % 300 - 60)
        nurse = nurses[index % len(nurses)] if index % 5 else None
        tasks.append(
            EscalationTaskFactory.build(
                episode=episode,
                patient=episode.patient,
                severity=("CRITICAL", "HIGH", "MODERATE", "LOW")[index % 4],
                status="ASSIGNED" if nurse else "OPEN",
                assigned_to=nurse,
                assigned_at=now if nurse else None,
                sla_breach_at=breach,
                sla_warning_at=breach - dt.timedelta(minutes=30),
            )
        )
    EscalationTask.objects.bulk_create(tasks)


def test_board_and_worklist_render_in_under_a_second_at_2000_open_tasks(page: Page, live_server):
    charge = nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton")
    nurses = [nurse_with_login(user__last_name=f"Nurse{n}") for n in range(8)]
    open_tasks_in_bulk(2000, nurses)
    admin_login(page, live_server, charge.user.username, PASSWORD)

    for url, rows in ((BOARD, "#open-task-rows tr"), (WORKLIST, "article.task-card")):
        page.goto(url)  # warm: the first request of a page compiles its templates
        page.goto(url)
        timing = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
        server = timing["responseStart"] - timing["requestStart"]
        print(
            f"{url}: loaded in {timing['loadEventEnd']:.0f} ms (server {server:.0f} ms, DOM ready"
            f" {timing['domContentLoadedEventEnd']:.0f} ms), {timing['transferSize'] / 1024:.0f} KB"
        )
        assert timing["loadEventEnd"] < 1000
        assert page.locator(rows).count() in (30, 10)
        expect(page.locator(".tile[data-sla=breached] .tile-count").first).not_to_have_text("0")
        assert page.locator("#list-pager").inner_text().startswith("1-")
        assert "of 2000 matching tasks" in page.locator("#list-pager").inner_text()
