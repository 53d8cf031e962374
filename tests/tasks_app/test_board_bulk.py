"""The charge nurse's moves on the board (tasks_app/screens/bulk.py) through Django's test client: bulk assign,
bulk acknowledge, hand over all of a nurse's tasks, the over-limit confirmation, and why tasks wait unassigned."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from care_events.platform.roles import CHARGE_NURSE, NURSE
from tasks_app.models import EscalationTask, Nurse
from tests.helpers import force_admin_login
from tests.tasks_app.factories import NurseFactory, assigned_task, nurse_with_login

pytestmark = pytest.mark.django_db

BOARD = reverse("admin:tasks_app_escalationtask_board")
BULK = reverse("admin:tasks_app_escalationtask_bulk")


def hand_over_url(nurse: Nurse) -> str:
    return reverse("admin:tasks_app_escalationtask_hand_over", args=[nurse.pk])


@pytest.fixture
def charge() -> Client:
    """A charge nurse's logged-in client."""
    # Inactive as a nurse, so round-robin never picks her: the tests count the tasks of the others.
    nurse = nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton", is_supervisor=True)
    Nurse.objects.filter(pk=nurse.pk).update(is_active=False)
    return force_admin_login(Client(), nurse.user)


@pytest.fixture
def florence():
    return nurse_with_login(user__first_name="Florence", user__last_name="Nightingale", max_open_tasks=5)


@pytest.fixture
def mary():
    return nurse_with_login(user__first_name="Mary", user__last_name="Seacole", max_open_tasks=2)


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_board_says_why_tasks_wait_per_care_team_and_offers_the_moves(charge, florence):
    NurseFactory(care_team="north")
    assigned_task(None, care_team="north", first_name="Henry", last_name="Dubois")
    assigned_task(florence)

    page = charge.get(BOARD).content.decode()

    assert "1: nobody of team north is on shift" in page  # beside the count, in the tile
    assert "<strong>1 waiting</strong>: nobody of team north is on shift." in page
    assert "Select the unassigned task of Henry Dubois" in page  # every checkbox has a label
    assert '<label for="unassigned-nurse">Give the selected tasks to</label>' in page
    assert "The next nurse on shift whose turn it is" in page
    assert f'href="{hand_over_url(florence)}"' in page


def test_bulk_assign_of_three_tasks_goes_back_to_the_board_with_each_outcome_logged(charge, florence):
    tasks = [assigned_task(None, minutes_to_breach=12 + i) for i in range(3)]

    response = charge.post(BULK, {"action": "assign", "nurse": florence.pk, "task": [t.pk for t in tasks]})

    assert response.status_code == 302 and response.url == f"{BOARD}#open-tasks"
    assert {EscalationTask.objects.get(pk=t.pk).assigned_to for t in tasks} == {florence}
    assert said(response)[0] == (
        "Assigned to Florence Nightingale (11 min of its SLA left). "
        "Now waiting for Florence Nightingale to acknowledge."
    )
    assert LogEntry.objects.filter(object_id__in=[str(t.pk) for t in tasks]).count() == 3


def test_a_partial_failure_lists_each_task_in_words_and_offers_the_over_limit_confirmation(charge, mary):
    assigned_task(mary)
    fine, over = assigned_task(None, last_name="Fine"), assigned_task(None, last_name="Over")
    closed = assigned_task(None, last_name="Closed", status="CANCELLED", cancelled_at="2026-12-01T10:00Z")

    response = charge.post(BULK, {"action": "assign", "nurse": mary.pk, "task": [fine.pk, over.pk, closed.pk]})

    page = response.content.decode()
    assert response.status_code == 200
    assert "1 of 3 tasks done" in page
    assert "Mary Seacole already holds 2 open tasks (limit 2)." in page
    assert "The task is cancelled already." in page
    assert "Yes, give them to her over her limit" in page and "✗ Not done" in page and "✓ Done" in page
    assert EscalationTask.objects.get(pk=over.pk).assigned_to is None

    confirmed = charge.post(BULK, {"action": "assign", "nurse": mary.pk, "task": [over.pk], "over_limit": "on"})

    assert confirmed.status_code == 302
    assert EscalationTask.objects.get(pk=over.pk).assigned_to == mary


def test_bulk_acknowledge_from_the_board(charge, florence):
    task = assigned_task(florence)

    response = charge.post(BULK, {"action": "acknowledge", "task": [task.pk]})

    assert response.status_code == 302
    assert EscalationTask.objects.get(pk=task.pk).status == "ACKNOWLEDGED"
    assert said(response) == ["Acknowledged for Florence Nightingale."]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"action": "assign"}, "Select at least one task (tick its box)."),
        ({"action": "assign", "task": ["not-a-task"]}, "Select a valid choice"),
        ({"action": "explode", "task": ["8c7b1a04-4f7e-4f53-9d5b-0a2a5f1f7f10"]}, "Select a valid choice"),
        (
            {"action": "assign", "nurse": "999999", "task": ["8c7b1a04-4f7e-4f53-9d5b-0a2a5f1f7f10"]},
            "Give the selected tasks to: Select a valid choice",
        ),
    ],
)
def test_bad_selections_are_said_on_the_board_never_a_500(charge, data, words):
    response = charge.post(BULK, data)

    assert response.status_code == 302
    assert any(words in message for message in said(response)), said(response)


def test_hand_over_all_of_a_nurses_tasks_to_the_next_nurses_on_shift(charge, florence, mary):
    edith = nurse_with_login(user__first_name="Edith", user__last_name="Cavell", max_open_tasks=5)
    tasks = [assigned_task(florence, last_name=f"Patient{i}") for i in range(3)]

    page = charge.get(hand_over_url(florence)).content.decode()
    assert "Hand over 3 tasks" in page and "Patient2" in page
    response = charge.post(hand_over_url(florence), {"to_nurse": ""})

    assert response.status_code == 302
    holders = [EscalationTask.objects.get(pk=t.pk).assigned_to for t in tasks]
    assert florence not in holders and set(holders) <= {mary, edith}
    assert len(said(response)) == 3


def test_hand_over_to_a_named_nurse_at_her_limit_asks_to_confirm(charge, florence, mary):
    tasks = [assigned_task(florence) for _ in range(3)]

    response = charge.post(hand_over_url(florence), {"to_nurse": mary.pk})

    page = response.content.decode()
    assert response.status_code == 200 and "2 of 3 tasks done; 1 needs your confirmation" in page
    assert "Give 1 task to Mary Seacole over her limit?" in page
    assert sum(EscalationTask.objects.get(pk=t.pk).assigned_to == mary for t in tasks) == 2


def test_reassigning_one_task_over_a_limit_needs_a_second_confirmed_submit(charge, florence, mary):
    assigned_task(mary)
    assigned_task(mary)
    task = assigned_task(florence)
    url = reverse("admin:tasks_app_escalationtask_reassign", args=[task.pk])

    first = charge.post(url, {"nurse": mary.pk})
    assert first.status_code == 400
    assert "Yes, give it to her over her limit" in first.content.decode()
    assert EscalationTask.objects.get(pk=task.pk).assigned_to == florence

    second = charge.post(url, {"nurse": mary.pk, "over_limit": "on"})
    assert second.status_code == 302
    assert EscalationTask.objects.get(pk=task.pk).assigned_to == mary
    history = charge.get(reverse("admin:tasks_app_escalationtask_reassign", args=[task.pk])).content.decode()
    assert "moved from Florence Nightingale to Mary Seacole" in history and "by Clara Barton" in history


def test_a_nurse_may_not_use_the_charge_nurses_moves(florence):
    client = force_admin_login(Client(), nurse_with_login(role=NURSE).user)

    assert client.post(BULK, {"action": "assign", "task": []}).status_code == 403
    assert client.get(hand_over_url(florence)).status_code == 403


def test_the_task_page_shows_who_held_it_and_who_moved_it(charge, florence, mary):
    task = assigned_task(None)
    charge.post(BULK, {"action": "assign", "nurse": florence.pk, "task": [task.pk]})
    charge.post(BULK, {"action": "acknowledge", "task": [task.pk]})
    charge.post(BULK, {"action": "assign", "nurse": mary.pk, "task": [task.pk]})

    response = charge.get(reverse("admin:tasks_app_escalationtask_change", args=[task.pk]))
    page = " ".join(response.content.decode().split())

    assert "Who has held it" in page
    assert "assigned to Florence Nightingale by Clara Barton" in page
    assert "acknowledged for Florence Nightingale by Clara Barton" in page
    assert "moved from Florence Nightingale to Mary Seacole by Clara Barton" in page


def test_the_board_offers_to_hand_over_the_tasks_of_a_nurse_off_shift(charge, florence):
    gone = nurse_with_login(user__first_name="Edith", user__last_name="Cavell", on_shift=False)
    assigned_task(gone)
    assigned_task(gone)

    page = " ".join(charge.get(BOARD).content.decode().split())

    assert "Off shift, still holding tasks" in page
    assert "Edith Cavell: 2 open tasks" in page
    assert f'href="{hand_over_url(gone)}"' in page
    assert "Florence Nightingale:" not in page  # on shift: her hand-over link is in *On shift now*
