"""The charge nurse's moves on the board in a real browser (Debian's chromium): she sees why tasks wait unassigned,
assigns three of them at once, and hands over all of a nurse's tasks; at a desktop's width and a phone's (390 px).
Screenshots: artifacts/screenshots/board-bulk-*.png."""

import pytest
from playwright.sync_api import Page, expect

from care_events.platform.bus.models import Event
from care_events.platform.roles import CHARGE_NURSE
from tasks_app.models import EscalationTask, Nurse
from tests.browser.login import admin_login
from tests.tasks_app.factories import PASSWORD, NurseFactory, assigned_task, nurse_with_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_charge_nurse_assigns_three_waiting_tasks_and_hands_over_a_nurses_tasks(
    page: Page, live_server, screenshot, viewport
):
    size = "phone" if viewport == PHONE else "desktop"
    page.set_viewport_size(viewport)
    charge = nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton", is_supervisor=True)
    Nurse.objects.filter(pk=charge.pk).update(is_active=False)  # she is not in round-robin's line herself
    florence = nurse_with_login(user__first_name="Florence", user__last_name="Nightingale", max_open_tasks=6)
    mary = nurse_with_login(user__first_name="Mary", user__last_name="Seacole", max_open_tasks=6)
    edith = nurse_with_login(user__first_name="Edith", user__last_name="Cavell", max_open_tasks=6)
    held = [
        assigned_task(florence, minutes_to_breach=40, first_name="Ada", last_name="Moreno"),
        assigned_task(florence, minutes_to_breach=70, first_name="Oscar", last_name="Lindqvist"),
    ]
    waiting = [
        assigned_task(None, minutes_to_breach=25, first_name="Henry", last_name="Dubois"),
        assigned_task(None, minutes_to_breach=55, first_name="Ines", last_name="Alvarez"),
        assigned_task(None, minutes_to_breach=95, first_name="Jonas", last_name="Berg"),
    ]
    NurseFactory(care_team="north")  # the second campus: a nurse, but nobody on shift
    north = assigned_task(None, minutes_to_breach=150, first_name="Kofi", last_name="Mensah", care_team="north")

    admin_login(page, live_server, charge.user.username, PASSWORD)

    expect(page.locator("h1")).to_have_text("Care team board")
    expect(page.locator(".tile[href='#unassigned']")).to_contain_text("1: nobody of team north is on shift")
    expect(page.locator("#unassigned .unassigned-causes")).to_contain_text(
        "1 waiting: nobody of team north is on shift."
    )
    screenshot(f"board-bulk-1-waiting-{size}")

    unassigned = page.locator("#unassigned")
    for name in ("Henry Dubois", "Ines Alvarez", "Jonas Berg"):
        unassigned.get_by_label(f"Select the unassigned task of {name}").check()
    unassigned.get_by_label("Give the selected tasks to").select_option(label="Mary Seacole (on shift, 0 of 6 tasks)")
    screenshot(f"board-bulk-2-selected-{size}")
    unassigned.get_by_role("button", name="Assign selected").click()

    expect(page.locator("h1")).to_have_text("Care team board")
    messages = page.locator(".messagelist li")
    expect(messages).to_have_count(3)
    expect(messages.first).to_contain_text("Assigned to Mary Seacole (")
    expect(messages.first).to_contain_text("Now waiting for Mary Seacole to acknowledge.")
    expect(page.locator("#unassigned tbody tr")).to_have_count(1)
    expect(page.locator("#unassigned tbody tr")).to_contain_text("Kofi Mensah")
    henry = page.locator("#open-tasks tbody tr", has_text="Henry Dubois")
    expect(henry.locator(".nurse-cell")).to_contain_text("Mary Seacole")
    expect(page.locator("#on-shift")).to_contain_text("3 / 6")
    screenshot(f"board-bulk-3-assigned-{size}")
    assert {EscalationTask.objects.get(pk=task.pk).assigned_to for task in waiting} == {mary}
    assert EscalationTask.objects.get(pk=north.pk).assigned_to is None

    page.locator("#on-shift").get_by_role("link", name="Hand over all of Florence Nightingale's tasks").click()
    expect(page.locator("h1")).to_have_text("Hand over all of Florence Nightingale's tasks")
    expect(page.locator("table.board-table tbody tr")).to_have_count(2)
    screenshot(f"board-bulk-4-hand-over-{size}")
    page.get_by_role("button", name="Hand over 2 tasks").click()

    expect(page.locator("h1")).to_have_text("Care team board")
    expect(page.locator(".messagelist li")).to_have_count(2)
    expect(page.locator(".messagelist")).to_contain_text("Reassigned from Florence Nightingale to")
    screenshot(f"board-bulk-5-handed-over-{size}")
    holders = [EscalationTask.objects.get(pk=task.pk).assigned_to for task in held]
    # Round-robin: Edith had nothing, Mary three; each task to whoever's turn it is, never back to Florence.
    assert florence not in holders and set(holders) <= {mary, edith}
    assert all(
        Event.objects.filter(name="task/reassigned", data__task_id=str(task.pk), actor=charge.user.pk).exists()
        for task in held
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_assigning_over_a_nurses_limit_needs_her_charge_nurses_confirmation(
    page: Page, live_server, screenshot, viewport
):
    size = "phone" if viewport == PHONE else "desktop"
    page.set_viewport_size(viewport)
    charge = nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton", is_supervisor=True)
    Nurse.objects.filter(pk=charge.pk).update(is_active=False)
    mary = nurse_with_login(user__first_name="Mary", user__last_name="Seacole", max_open_tasks=1)
    assigned_task(mary, first_name="Ada", last_name="Moreno")
    waiting = [
        assigned_task(None, minutes_to_breach=25, first_name="Henry", last_name="Dubois"),
        assigned_task(None, minutes_to_breach=55, first_name="Ines", last_name="Alvarez"),
    ]

    admin_login(page, live_server, charge.user.username, PASSWORD)
    expect(page.locator("#unassigned .unassigned-causes")).to_contain_text(
        "2 waiting: the 1 nurse of team default on shift is at their limit."
    )
    unassigned = page.locator("#unassigned")
    unassigned.get_by_text("Select all shown").click()
    expect(unassigned.locator("[data-selected-count]")).to_have_text("2 selected")
    unassigned.get_by_label("Give the selected tasks to").select_option(label="Mary Seacole (on shift, 1 of 1 tasks)")
    unassigned.get_by_role("button", name="Assign selected").click()

    expect(page.locator("h1")).to_have_text("0 of 2 tasks done; 2 need your confirmation")
    expect(page.locator("tr.outcome")).to_have_count(2)
    expect(page.locator("tr.outcome").first).to_contain_text("Mary Seacole already holds 1 open tasks (limit 1).")
    expect(page.get_by_role("heading", name="Give 2 tasks to Mary Seacole over her limit?")).to_be_visible()
    screenshot(f"board-bulk-6-over-limit-{size}")
    page.get_by_role("button", name="Assign over her limit").click()  # not ticked: the browser asks for the tick
    expect(page.locator("h1")).to_have_text("0 of 2 tasks done; 2 need your confirmation")
    page.get_by_label("Yes, give them to her over her limit").check()
    page.get_by_role("button", name="Assign over her limit").click()

    expect(page.locator("h1")).to_have_text("Care team board")
    expect(page.locator(".messagelist li")).to_have_count(2)
    expect(page.locator("#unassigned")).to_contain_text("Every open task has a nurse.")
    expect(page.locator("#on-shift")).to_contain_text("3 / 1")
    expect(page.locator("#on-shift")).to_contain_text("over limit")
    screenshot(f"board-bulk-7-over-limit-done-{size}")
    assert {EscalationTask.objects.get(pk=task.pk).assigned_to for task in waiting} == {mary}
