"""The board's and the worklist's reads (tasks_app/task_lists.py) and what the screens do with them
(tasks_app/screens/lists.py): the urgency order, the SLA bands, the filters remembered per user, the patient
search, the pages and the live fragment, against PostgreSQL."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from care_events.platform.roles import CHARGE_NURSE, NURSE
from tasks_app.care_team import SlaState, sla_state
from tasks_app.models import ActionType, EscalationTask, Nurse
from tasks_app.selectors import tasks_visible_in_admin
from tasks_app.task_lists import by_urgency, open_task_counts, parse_date_of_birth, patient_search
from tests.helpers import force_admin_login
from tests.tasks_app.factories import assigned_task, nurse_with_login

pytestmark = pytest.mark.django_db

WORKLIST = reverse("admin:tasks_app_escalationtask_worklist")
BOARD = reverse("admin:tasks_app_escalationtask_board")


@pytest.fixture
def nurse() -> Nurse:
    return nurse_with_login(role=NURSE, user__first_name="Florence", user__last_name="Nightingale")


@pytest.fixture
def charge() -> Nurse:
    return nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton")


def task(nurse: Nurse | None, *, sla: int, left: float, severity: str = "HIGH", **fields) -> EscalationTask:
    """A task of an SLA of `sla` minutes with `left` minutes of it left (negative: breached that long ago)."""
    created = assigned_task(nurse, minutes_to_breach=0, severity=severity, sla_minutes=sla, **fields)
    breach = timezone.now() + dt.timedelta(minutes=left)
    EscalationTask.objects.filter(pk=created.pk).update(
        sla_breach_at=breach, sla_warning_at=breach - dt.timedelta(minutes=sla * 0.25)
    )
    return created


def names(tasks) -> list[str]:
    return [t.patient.last_name for t in tasks]


def test_breached_first_critical_and_hand_offs_first_then_the_fraction_of_the_sla_left(nurse):
    task(nurse, sla=120, left=-40, severity="HIGH", last_name="OldHigh")  # breached longer ago, HIGH
    task(nurse, sla=30, left=-2, severity="CRITICAL", last_name="Critical")
    task(nurse, sla=120, left=-1, severity="MODERATE", action_type=ActionType.URGENT_HANDOFF, last_name="HandOff")
    task(nurse, sla=30, left=6, severity="HIGH", last_name="FifthLeft")  # 20 % left
    task(nurse, sla=1440, left=60, severity="LOW", last_name="DayLeft")  # 4 % left, though an hour of it
    task(nurse, sla=120, left=24, severity="LOW", last_name="LowFifth")  # 20 % left: severity breaks the tie
    task(nurse, sla=120, left=100, severity="CRITICAL", last_name="Fresh")

    ordered = by_urgency(tasks_visible_in_admin(user=nurse.user).select_related("patient"), now=timezone.now())

    assert names(ordered) == ["Critical", "HandOff", "OldHigh", "DayLeft", "FifthLeft", "LowFifth", "Fresh"]


@pytest.mark.parametrize(
    ("left", "state"),
    [(20, SlaState.ON_TIME), (14, SlaState.SOON), (7, SlaState.AT_RISK), (0, SlaState.BREACHED)],
)
def test_the_band_is_the_fraction_of_the_sla_used_not_the_minutes(left, state):
    now = timezone.now()
    assert sla_state(breach_at=now + dt.timedelta(minutes=left), sla_minutes=30, now=now) == state


def test_a_30_minute_critical_task_with_21_minutes_left_is_on_time_but_one_with_7_left_is_at_risk(nurse):
    task(nurse, sla=30, left=21, severity="CRITICAL")
    task(nurse, sla=30, left=7, severity="CRITICAL")
    task(nurse, sla=1440, left=300, severity="LOW")  # 5 hours left of a day: at risk too
    counts = open_task_counts(user=nurse.user, now=timezone.now())
    assert (counts.on_time, counts.soon, counts.at_risk, counts.breached) == (1, 0, 2, 0)


@pytest.mark.parametrize(
    "typed",
    [
        "Ada",
        "moreno",
        "ada mor",
        "  Ada   Moreno ",
        "(202) 555-0143",
        "202.555.0143",
        "+1 202 555 0143",
        "MRN-778",
        "mrn-778",
        "1948-03-02",
        "03/02/1948",
        "3/2/1948",
        "2 Mar 1948",
        "March 2, 1948",
    ],
)
def test_a_patient_is_found_by_first_or_last_name_phone_mrn_or_date_of_birth(nurse, typed):
    found = task(nurse, sla=120, left=60, first_name="Ada", last_name="Moreno")
    found.patient.__class__.objects.filter(pk=found.patient_id).update(
        phone="+12025550143", mrn="MRN-778", facility="GENERAL", date_of_birth=dt.date(1948, 3, 2)
    )
    task(nurse, sla=120, left=60, first_name="Oscar", last_name="Lindqvist")

    assert names(EscalationTask.objects.filter(patient_search(typed))) == ["Moreno"]


def test_dates_that_are_not_dates_and_numbers_that_are_not_phones_find_nothing_and_raise_nothing(nurse):
    task(nurse, sla=120, left=60, first_name="Ada", last_name="Moreno")
    for typed in ("31/31/1948", "555", "12345678901234567", "Zed"):
        assert not EscalationTask.objects.filter(patient_search(typed)).exists()
    assert parse_date_of_birth("1948-02-30") is None


def test_filters_narrow_the_board_and_are_remembered_until_cleared(charge, nurse):
    other = nurse_with_login(user__first_name="Mary", user__last_name="Seacole")
    task(nurse, sla=30, left=-3, severity="CRITICAL", last_name="Breached")
    task(
        other,
        sla=120,
        left=60,
        severity="LOW",
        last_name="Others",
        status="ACKNOWLEDGED",
        acknowledged_at=timezone.now(),
    )
    task(None, sla=120, left=90, severity="HIGH", last_name="Nobodys")
    client = force_admin_login(Client(), charge.user)

    def listed(**params) -> list[str]:
        response = client.get(BOARD, params)
        assert response.status_code == 200
        return [row.task.patient.last_name for row in response.context["rows"]]

    assert listed(filtered=1, holder="unassigned") == ["Nobodys"]
    assert listed() == ["Nobodys"]  # remembered: the board opened again shows the same filter
    assert listed(filtered=1, holder=str(other.pk)) == ["Others"]
    assert listed(filtered=1, breached="on") == ["Breached"]
    assert listed(filtered=1, unacknowledged="on") == ["Breached", "Nobodys"]
    assert listed(filtered=1, severity="LOW") == ["Others"]
    assert listed(filtered=1, action=ActionType.NURSE_CALLBACK_2H, q="nobo") == ["Nobodys"]
    assert listed(filtered=1, team="default", holder="mine") == []
    assert listed(clear=1) == ["Breached", "Others", "Nobodys"]  # half of Others' SLA left, three quarters of Nobodys'
    assert listed() == ["Breached", "Others", "Nobodys"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"severity": "URGENT"}, "Severity"),
        ({"holder": "99999"}, "Nurse"),
        ({"page": "two"}, "Page"),
        ({"q": "x" * 101}, "Find a patient"),
        ({"action": "DANCE"}, "Kind of task"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field_and_keeps_the_saved_filters(charge, nurse, params, field):
    task(None, sla=120, left=90, last_name="Nobodys")
    task(nurse, sla=120, left=60, last_name="Held")
    client = force_admin_login(Client(), charge.user)
    client.get(BOARD, {"filtered": 1, "holder": "unassigned"})

    response = client.get(BOARD, {"filtered": 1, **params})

    assert response.status_code == 400
    assert f"{field}:" in response.content.decode()
    assert [row.task.patient.last_name for row in client.get(BOARD).context["rows"]] == ["Nobodys"]


def test_a_nurse_filters_her_own_tasks_only(nurse, charge):
    task(nurse, sla=120, left=60, last_name="Mine", severity="LOW")
    task(charge, sla=120, left=60, last_name="Theirs", severity="LOW")
    client = force_admin_login(Client(), nurse.user)
    response = client.get(WORKLIST, {"filtered": 1, "severity": "LOW", "holder": str(charge.pk), "team": "x"})
    assert response.status_code == 200
    assert [row.task.patient.last_name for row in response.context["rows"]] == ["Mine"]
    assert "holder" not in response.context["filter_form"].fields


def test_a_page_of_tasks_with_the_counts_over_all_of_them_and_the_live_fragment(charge, nurse):
    for minutes in range(1, 56):
        task(nurse, sla=120, left=minutes * 2 - 10, last_name=f"P{minutes:02d}")
    client = force_admin_login(Client(), charge.user)

    response = client.get(BOARD, {"page": 2})
    assert len(response.context["rows"]) == 25  # 30 a page
    assert response.context["counts"].total == 55
    assert response.context["counts"].breached == 5  # -8, -6, -4, -2 and 0 minutes left

    fragment = client.get(BOARD, {"page": 1, "partial": 1}).content.decode()
    assert 'id="tiles" data-live' in fragment and 'id="open-task-rows" data-live' in fragment
    assert 'data-page-title="(5 breached, 55 not acknowledged) Care team board' in fragment
    assert "<html" not in fragment and "task-filters" not in fragment
    cards = client.get(WORKLIST, {"partial": 1}).content.decode()
    assert 'id="worklist-cards" data-live' in cards and cards.count('class="task-card"') == 10
