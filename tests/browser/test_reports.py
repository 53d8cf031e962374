"""The nurse manager's Reports page in a real browser (Debian's chromium): a seeded history, the filters, a chart
with its table, a CSV download, the monthly summary; axe-core clean at desktop and phone widths; no sideways scroll
on a phone. Screenshots: artifacts/screenshots/ (docs/reports.md shows the first screen of each, reports-desktop-top and
reports-phone-top, copied to docs/img/ as reports-desktop and reports-phone)."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Page, expect

from care_events.platform.roles import NURSE_MANAGER
from tests.browser.accessibility import axe_violations
from tests.browser.conftest import SCREENSHOTS
from tests.browser.login import admin_login
from tests.tasks_app.factories import PASSWORD, nurse_with_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("resolution_choices"),  # rows a data migration seeds (conftest.py)
]

PHONE = {"width": 390, "height": 844}


def assert_axe_clean(page: Page, where: str) -> None:
    found = axe_violations(page)
    assert found == [], f"{where}: {found}"


def test_a_nurse_manager_reads_the_reports(page: Page, live_server, screenshot):
    call_command("seed_history", discharges=300, days=84, nurses=9, stdout=io.StringIO())
    manager = nurse_with_login(role=NURSE_MANAGER, on_shift=False, user__first_name="Hope", user__last_name="Reed")

    admin_login(page, live_server, manager.user.username, PASSWORD)
    page.goto(live_server.url + reverse("admin:index"))
    page.get_by_role("link", name="Reports").first.click()
    expect(page.locator("h1")).to_have_text("Care-quality reports")
    chart = page.get_by_role("img", name="Discharges reached within 2 business days (TCM), by week of discharge")
    expect(chart).to_be_visible()
    expect(page.locator("#table-tcm tbody tr").first).to_be_visible()
    # The seeded stays came through the ADT feed, which marks readmissions: the figure has data.
    expect(page.locator("#table-readmissions tbody tr")).to_have_count(2)
    assert_axe_clean(page, "reports, desktop")
    screenshot("reports-desktop")
    page.screenshot(path=str(SCREENSHOTS / "reports-desktop-top.png"))  # the first screen, for docs/reports.md

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV of patients not reached within 2 business days").click()
    assert download.value.suggested_filename.startswith("tcm-missed-")

    page.select_option("#id_team", "default")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".report-period")).to_contain_text("care team default")

    page.set_viewport_size(PHONE)
    page.reload()
    assert_axe_clean(page, "reports, phone")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide on a {widths[1]} px screen"
    screenshot("reports-phone")
    page.screenshot(path=str(SCREENSHOTS / "reports-phone-top.png"))

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live_server.url + reverse("admin:reports_monthly"))
    expect(page.locator(".monthly-title").first).to_contain_text("care team default")
    assert_axe_clean(page, "monthly summary")
    page.emulate_media(media="print")
    expect(page.locator("#header")).to_be_hidden()
    screenshot("reports-monthly-print")
