"""The care team's admin screens (tasks_app/screens/) through Django's test client: who reaches what, and
that every action goes through the task services (events, timers, notifications) and into admin's log."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from care_events.platform.bus.models import Event, HandlerRun, Timer
from care_events.platform.roles import CHARGE_NURSE, NURSE
from notifications.models import NotificationLog
from tasks_app.care_team import check_care_team_time_zone
from tasks_app.models import EscalationTask, Nurse, NurseShift
from tasks_app.services.tasks import task_create
from tests.api.factories import StaffUserFactory
from tests.care_events.factories import AgentInteractionFactory, EpisodeFactory
from tests.helpers import (
    admin_login,
    drain,
    event_names,
    force_admin_login,
)
from tests.tasks_app.factories import (
    EscalationTaskFactory,
    NurseFactory,
    NurseShiftFactory,
    assigned_task,
    nurse_with_login,
)

pytestmark = pytest.mark.django_db

WORKLIST = reverse("admin:tasks_app_escalationtask_worklist")
BOARD = reverse("admin:tasks_app_escalationtask_board")
ROSTER = reverse("admin:tasks_app_nurseshift_roster")
NEW_YORK = ZoneInfo("America/New_York")


def client_for(user) -> Client:
    return force_admin_login(Client(), user)


def action_url(action: str, task: EscalationTask) -> str:
    return reverse(f"admin:tasks_app_escalationtask_{action}", args=[task.pk])


@pytest.fixture
def nurse() -> Nurse:
    return nurse_with_login(role=NURSE, user__first_name="Florence", user__last_name="Nightingale")


@pytest.fixture
def other_nurse() -> Nurse:
    return nurse_with_login(role=NURSE, user__first_name="Mary", user__last_name="Seacole")


@pytest.fixture
def charge() -> Nurse:
    return nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton", is_supervisor=True)


# --- Who reaches what ------------------------------------------------------------------------------------------


def test_a_nurse_sees_only_her_own_open_tasks_nearest_breach_first(nurse, other_nurse):
    later = assigned_task(nurse, minutes_to_breach=100, last_name="Later")
    sooner = assigned_task(nurse, minutes_to_breach=20, last_name="Sooner")
    assigned_task(other_nurse, last_name="Elsewhere")
    assigned_task(nurse, last_name="Closed", status="RESOLVED", resolved_at=timezone.now())

    page = client_for(nurse.user).get(WORKLIST).content.decode()

    assert "My tasks" in page
    assert page.index("Ada Sooner") < page.index("Ada Later")
    assert "Elsewhere" not in page and "Closed" not in page
    # What caused the task: the answers, the one that caused it marked, the reason codes and the summary.
    assert "My ankles are swollen" in page and "caused this task" in page and "I slept badly." in page
    assert "Any swelling in your legs or ankles?" in page
    assert "HF_EDEMA" in page and "Short of breath since last night" in page
    # Age, phone as dialled, condition.
    patient = sooner.patient
    assert f"({patient.phone[2:5]}) {patient.phone[5:8]}-{patient.phone[8:]}" in page
    assert "Heart failure" in page
    assert f'data-breach-at="{timezone.localtime(later.sla_breach_at, NEW_YORK).isoformat()}"' in page


def test_a_nurse_cannot_open_or_act_on_another_nurses_task(nurse, other_nurse):
    theirs = assigned_task(other_nurse)
    client = client_for(nurse.user)

    # Each page says, in words and without the patient, that the task is not hers (a stale link explains itself).
    for action in ("acknowledge", "resolve", "note"):
        page = client.get(action_url(action, theirs))
        assert page.status_code == 403 and "This task is held by Mary Seacole" in page.content.decode()
        assert "Moreno" not in page.content.decode()
    assert client.post(action_url("resolve", theirs), {"note": "done"}).status_code == 403
    change = client.get(reverse("admin:tasks_app_escalationtask_change", args=[theirs.pk]))
    assert change.status_code == 403 and "Moreno" not in change.content.decode()
    assert "not one of yours" in change.content.decode()
    assert "Moreno" not in client.get(reverse("admin:tasks_app_escalationtask_changelist")).content.decode()
    theirs.refresh_from_db()
    assert theirs.status == "ASSIGNED"


def test_a_nurse_may_not_reassign_or_cancel_nor_open_the_board(nurse):
    mine = assigned_task(nurse)
    client = client_for(nurse.user)

    assert client.get(action_url("reassign", mine)).status_code == 403
    assert client.post(action_url("cancel", mine), {"reason": "x"}).status_code == 403
    assert client.get(BOARD).status_code == 403
    mine.refresh_from_db()
    assert mine.status == "ASSIGNED"


@pytest.mark.parametrize("url", [WORKLIST, BOARD, ROSTER])
def test_staff_without_a_role_get_403_on_every_screen(url):
    assert client_for(StaffUserFactory()).get(url).status_code == 403


def test_a_charge_nurse_sees_every_open_task(charge, nurse, other_nurse):
    assigned_task(nurse, last_name="First")
    assigned_task(other_nurse, last_name="Second")

    page = client_for(charge.user).get(WORKLIST).content.decode()

    assert "Open tasks" in page and "Ada First" in page and "Ada Second" in page
    assert "Reassign" in page and "Cancel" in page


def test_the_root_leads_each_role_to_its_screen(charge, nurse):
    assert client_for(charge.user).get("/").url == BOARD
    assert client_for(nurse.user).get("/").url == WORKLIST
    assert Client().get("/").url == f"{reverse('admin:login')}?next=/"
    assert client_for(StaffUserFactory()).get("/").url == reverse("admin:index")


def test_admin_home_leads_with_the_care_team_screens(charge, nurse):
    page = client_for(charge.user).get(reverse("admin:index")).content.decode()
    assert page.index(BOARD) < page.index(ROSTER) < page.index(reverse("admin:tasks_app_nurse_changelist"))
    assert 'href="/"' in page  # "View site"
    nurse_home = client_for(nurse.user).get(reverse("admin:index")).content.decode()
    assert WORKLIST in nurse_home and BOARD not in nurse_home


# --- A nurse's actions -----------------------------------------------------------------------------------------


def test_a_nurse_acknowledges_then_resolves_her_task_through_the_services(nurse):
    task = task_create(
        episode=EpisodeFactory(), severity="HIGH", reason_codes=["HF_EDEMA"], interaction=AgentInteractionFactory()
    )
    drain()  # assigned round-robin to the only nurse on shift, SLA timers armed
    task.refresh_from_db()
    assert task.assigned_to == nurse
    client = client_for(nurse.user)

    response = client.post(action_url("acknowledge", task), {"next": WORKLIST})
    assert response.status_code == 302 and response.url == WORKLIST
    response = client.post(action_url("resolve", task), {"note": "Called her; diuretic dose adjusted."})
    assert response.status_code == 302

    task.refresh_from_db()
    assert (task.status, task.resolution) == ("RESOLVED", "Called her; diuretic dose adjusted.")
    assert {"task/acknowledged", "task/resolved"} <= set(event_names())
    assert not Timer.objects.filter(subject_id=task.pk, cancelled_at=None).exists()
    logged = LogEntry.objects.filter(object_id=str(task.pk), user=nurse.user).order_by("pk")
    assert [entry.get_change_message() for entry in logged] == ["Acknowledged.", "Resolved with a note."]


def test_resolving_needs_a_note_and_a_closed_task_is_said_so(nurse):
    task = assigned_task(nurse)
    client = client_for(nurse.user)

    response = client.post(action_url("resolve", task), {"note": ""})
    assert response.status_code == 400 and "Choose an outcome or write what you did." in response.content.decode()
    task.refresh_from_db()
    assert task.status == "ASSIGNED"

    client.post(action_url("resolve", task), {"note": "Called."})
    again = client.get(action_url("resolve", task), follow=True)
    assert f"This task was resolved by {nurse} at " in again.content.decode()
    refused = client.post(action_url("resolve", task), {"note": "twice"})
    assert refused.status_code == 400 and "The task is resolved already." in refused.content.decode()
    assert event_names().count("task/resolved") == 1


# --- A charge nurse's actions ----------------------------------------------------------------------------------


def test_a_charge_nurse_reassigns_to_a_named_nurse_who_is_notified(charge, nurse, other_nurse):
    task = assigned_task(nurse)

    response = client_for(charge.user).post(action_url("reassign", task), {"nurse": other_nurse.pk, "next": BOARD})
    drain()

    assert response.status_code == 302 and response.url == BOARD
    task.refresh_from_db()
    assert task.assigned_to == other_nurse
    assert "task/reassigned" in event_names()
    assert NotificationLog.objects.filter(recipient_nurse=other_nurse, type="TASK_REASSIGNED").exists()
    entry = LogEntry.objects.get(object_id=str(task.pk))
    assert entry.get_change_message().startswith("Reassigned from Florence Nightingale to Mary Seacole (1 h 29 min")
    assert entry.get_change_message().endswith("of its SLA left). Now waiting for Mary Seacole to acknowledge.")


def test_a_charge_nurse_reassigns_to_the_next_nurse_on_shift(charge, nurse, other_nurse):
    task = assigned_task(nurse)
    Nurse.objects.filter(pk=charge.pk).update(is_active=False)  # round-robin has only Mary left

    response = client_for(charge.user).post(action_url("reassign", task), {"nurse": ""})

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.assigned_to == other_nurse


def test_reassigning_to_a_nurse_off_shift_or_at_her_limit_says_so(charge, nurse):
    task = assigned_task(nurse)
    monday = dt.datetime(2030, 12, 2, 7, 0, tzinfo=NEW_YORK)
    off = NurseShiftFactory(
        nurse__user__first_name="Edith",
        nurse__user__last_name="Cavell",
        starts_at=monday,
        ends_at=monday.replace(hour=19),
    ).nurse
    full = nurse_with_login(user__first_name="Linda", user__last_name="Richards", max_open_tasks=1)
    assigned_task(full)
    client = client_for(charge.user)

    off_shift = client.post(action_url("reassign", task), {"nurse": off.pk})
    at_limit = client.post(action_url("reassign", task), {"nurse": full.pk})

    assert off_shift.status_code == 400
    assert "Edith Cavell is not on shift now (next shift Mon 2 Dec 07:00-19:00 America/New_York)." in (
        off_shift.content.decode()
    )
    assert at_limit.status_code == 400
    assert "Linda Richards already holds 1 open tasks (limit 1)." in at_limit.content.decode()
    task.refresh_from_db()
    assert task.assigned_to == nurse and "task/reassigned" not in event_names()


def test_a_charge_nurse_cancels_with_a_reason(charge, nurse):
    task = assigned_task(nurse)
    client = client_for(charge.user)

    assert "Why is no action needed?" in client.get(action_url("cancel", task)).content.decode()
    response = client.post(action_url("cancel", task), {"reason": "Duplicate of the 9 am call."})

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.resolution) == ("CANCELLED", "Duplicate of the 9 am call.")
    assert "task/cancelled" in event_names()
    assert LogEntry.objects.get(object_id=str(task.pk)).get_change_message() == "Cancelled: no action needed."


def test_the_bulk_cancel_action_needs_the_cancel_permission_and_is_logged(charge, nurse):
    task = assigned_task(nurse)
    changelist = reverse("admin:tasks_app_escalationtask_changelist")
    data = {"action": "cancel", "_selected_action": [str(task.pk)]}

    nurse_view = client_for(nurse.user).get(changelist).content.decode()
    assert 'value="cancel"' not in nurse_view
    client_for(charge.user).post(changelist, data)

    task.refresh_from_db()
    assert task.status == "CANCELLED"
    assert LogEntry.objects.filter(object_id=str(task.pk), user=charge.user).exists()


def test_the_task_page_links_patient_episode_and_interaction_and_offers_the_actions(charge, nurse):
    task = assigned_task(nurse)
    page = client_for(charge.user).get(reverse("admin:tasks_app_escalationtask_change", args=[task.pk])).content
    page = page.decode()
    assert reverse("admin:care_events_patient_change", args=[task.patient_id]) in page
    assert reverse("admin:care_events_episode_change", args=[task.episode_id]) in page
    assert reverse("admin:care_events_agentinteraction_change", args=[task.interaction_id]) in page
    assert action_url("reassign", task) in page and "My ankles are swollen" in page


# --- The board -------------------------------------------------------------------------------------------------


def test_the_board_shows_tasks_by_sla_state_the_unassigned_the_nurses_on_shift_and_failed_work(charge, nurse):
    now = timezone.now()
    breached = assigned_task(nurse, minutes_to_breach=-5, last_name="Breached")
    assigned_task(nurse, minutes_to_breach=10, last_name="Warned")
    assigned_task(nurse, minutes_to_breach=100, last_name="Fine")
    EscalationTaskFactory(episode__patient__last_name="Nobodys", status="OPEN")
    EscalationTaskFactory(
        episode__patient__last_name="Yesterday",
        status="RESOLVED",
        sla_warning_at=now - dt.timedelta(hours=3),
        sla_breach_at=now - dt.timedelta(hours=2),
        resolved_at=now - dt.timedelta(hours=1),
    )
    event = Event.objects.create(name="task/created", data={})
    HandlerRun.objects.create(event=event, handler="assign-task", status="FAILED")
    HandlerRun.objects.create(
        event=event, handler="start-sla-timers", status="PENDING", next_attempt_at=now - dt.timedelta(hours=1)
    )

    response = client_for(charge.user).get(BOARD)
    page = response.content.decode()

    assert response.status_code == 200
    assert [row.task.patient.last_name for row in response.context["rows"]][:3] == ["Breached", "Warned", "Fine"]
    counts = response.context["counts"]
    assert (counts.breached, counts.at_risk, counts.soon, counts.on_time, counts.unassigned) == (1, 1, 0, 2, 1)
    assert [row.task.patient.last_name for row in response.context["unassigned"]] == ["Nobodys"]
    assert {n.pk: n.open_task_count for n in response.context["on_shift"]} == {nurse.pk: 3, charge.pk: 0}
    assert [t.patient.last_name for t in response.context["breaches"]] == ["Breached", "Yesterday"]
    # The service's background jobs are the administrator's: not in a charge nurse's words or menus.
    assert "Background jobs" not in page and reverse("admin:care_events_handlerrun_changelist") not in page
    assert action_url("reassign", breached) in page
    assert 'data-refresh-seconds="15"' in page and "<script>" not in page


def test_the_board_shows_the_services_failed_jobs_to_an_administrator(admin_client):
    now = timezone.now()
    event = Event.objects.create(name="task/created", data={})
    HandlerRun.objects.create(event=event, handler="assign-task", status="FAILED")
    HandlerRun.objects.create(
        event=event, handler="start-sla-timers", status="PENDING", next_attempt_at=now - dt.timedelta(hours=1)
    )
    response = admin_client.get(BOARD)
    assert (response.context["failed_runs"], response.context["stuck_runs"]) == (1, 1)
    assert reverse("admin:care_events_handlerrun_changelist") + "?status__exact=FAILED" in response.content.decode()


# --- The roster ------------------------------------------------------------------------------------------------


def test_the_roster_shows_a_week_per_nurse_in_the_care_team_zone_with_the_gaps(charge):
    monday = dt.datetime(2030, 12, 2, tzinfo=NEW_YORK)
    NurseShift.objects.filter(nurse=charge).delete()
    for day in range(7):
        NurseShiftFactory(
            nurse=charge,
            starts_at=monday + dt.timedelta(days=day, hours=7),
            ends_at=monday + dt.timedelta(days=day, hours=19),
        )

    response = client_for(charge.user).get(ROSTER, {"week": "2030-12-04"})  # a Wednesday: its week
    page = response.content.decode()

    assert response.context["monday"] == monday.date()
    assert "Times in <strong>America/New_York</strong>" in page
    assert page.count(">07:00-19:00<") == 7
    first_day = response.context["days"][0]
    assert [gap.label for gap in first_day.gaps] == ["00:00-07:00", "19:00-24:00"]
    assert first_day.hours == [False] * 7 + [True] * 12 + [False] * 5
    add = reverse("admin:tasks_app_nurseshift_add")
    assert f"{add}?starts_at=2030-12-02T00:00&amp;ends_at=2030-12-02T07:00" in page
    assert "?week=2030-11-25" in page and "?week=2030-12-09" in page


def test_the_add_shift_link_fills_in_the_gap_in_the_care_team_zone(charge):
    add = reverse("admin:tasks_app_nurseshift_add")
    client = client_for(charge.user)

    form = client.get(add, {"starts_at": "2030-12-02T19:00", "ends_at": "2030-12-03T07:00"}).context["adminform"].form
    assert form.initial["starts_at"] == dt.datetime(2030, 12, 2, 19, 0, tzinfo=NEW_YORK)
    assert form.fields["starts_at"].label == "Starts (America/New_York)"
    response = client.post(
        add,
        {
            "nurse": charge.pk,
            "starts_at_0": "2030-12-02",
            "starts_at_1": "19:00",
            "ends_at_0": "2030-12-03",
            "ends_at_1": "07:00",
        },
    )
    assert response.status_code == 302
    shift = NurseShift.objects.get(nurse=charge, starts_at__year=2030)
    assert shift.starts_at == dt.datetime(2030, 12, 3, 0, 0, tzinfo=dt.UTC)  # 19:00 in New York is midnight UTC


def test_a_nurse_reads_the_roster_but_gets_no_links_to_change_it(nurse):
    page = client_for(nurse.user).get(ROSTER).content.decode()
    assert "Nobody on shift" in page and "Add shift" not in page


# --- Nurse logins ----------------------------------------------------------------------------------------------


def nurse_form(**overrides):
    data = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace.hopper@hospital.example",
        "phone": "(202) 555-0143",
        "preferred_channel": "SMS",
        "is_active": "on",
        "max_open_tasks": "8",
        "can_log_in": "on",
        "password1": "a-long-Ward-7-password",
        "password2": "a-long-Ward-7-password",
        "shifts-TOTAL_FORMS": "0",
        "shifts-INITIAL_FORMS": "0",
        "shifts-MIN_NUM_FORMS": "0",
        "shifts-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_a_charge_nurse_creates_a_nurse_who_can_log_in_and_sees_her_worklist(charge):
    response = client_for(charge.user).post(reverse("admin:tasks_app_nurse_add"), nurse_form())

    assert response.status_code == 302
    user = Nurse.objects.get(email="grace.hopper@hospital.example").user
    assert user.is_staff and user.check_password("a-long-Ward-7-password")
    assert list(user.groups.values_list("name", flat=True)) == [NURSE]
    client = admin_login(Client(), user, "a-long-Ward-7-password")  # her password, then her phone's code
    assert client.get(WORKLIST).status_code == 200


def test_a_weak_or_mistyped_password_is_refused(charge):
    client = client_for(charge.user)
    differ = client.post(reverse("admin:tasks_app_nurse_add"), nurse_form(password2="something-else-entirely"))
    weak = client.post(reverse("admin:tasks_app_nurse_add"), nurse_form(password1="12345678", password2="12345678"))
    assert "The two passwords differ." in differ.content.decode()
    assert "This password is entirely numeric." in weak.content.decode()
    assert not Nurse.objects.filter(email="grace.hopper@hospital.example").exists()


def test_only_an_account_administrator_changes_a_nurses_password_later(charge, nurse, admin_client):
    change = reverse("admin:tasks_app_nurse_change", args=[nurse.pk])
    assert "password1" not in client_for(charge.user).get(change).content.decode()
    assert "password1" in admin_client.get(change).content.decode()
    # A charge nurse's edit of the nurse leaves her login as it was.
    edit = nurse_form(first_name="Flo", last_name="Nightingale", email=nurse.email, phone=nurse.phone, password1="")
    edit.update({"shifts-TOTAL_FORMS": "0", "shifts-INITIAL_FORMS": "0", "can_log_in": ""})
    response = client_for(charge.user).post(change, edit)
    assert response.status_code == 302
    nurse.user.refresh_from_db()
    assert nurse.user.first_name == "Flo" and nurse.user.is_staff and nurse.user.check_password("correct-horse-battery")


def test_setting_a_password_on_the_add_page_is_optional(charge):
    response = client_for(charge.user).post(
        reverse("admin:tasks_app_nurse_add"), nurse_form(password1="", password2="", can_log_in="")
    )
    assert response.status_code == 302
    user = Nurse.objects.get(email="grace.hopper@hospital.example").user
    assert not user.has_usable_password() and not user.is_staff


def test_time_moves_the_countdown_into_at_risk_then_breach(nurse, settings):
    settings.SESSION_COOKIE_AGE = 3 * 60 * 60  # she keeps the page open: no idle logout across the travel
    task = assigned_task(nurse, minutes_to_breach=40)
    client = client_for(nurse.user)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=15)):
        assert 'data-sla="at-risk"' in client.get(WORKLIST).content.decode()  # 25 min of 120 left: 79 % used
    with time_machine.travel(task.sla_breach_at + dt.timedelta(minutes=3)):
        page = client.get(WORKLIST).content.decode()
    assert 'data-sla="breached"' in page and "breached 3 min ago" in page


def test_an_inactive_nurse_is_not_offered_for_reassignment(charge, nurse):
    NurseFactory(is_active=False, user__last_name="Retired")
    page = client_for(charge.user).get(action_url("reassign", assigned_task(nurse))).content.decode()
    assert "Retired" not in page and "The next nurse on shift" in page


def test_patient_episode_and_interaction_pages_link_to_each_other_and_to_the_tasks(charge, nurse):
    task = assigned_task(nurse)
    client = client_for(charge.user)
    tasks = reverse("admin:tasks_app_escalationtask_changelist")

    patient = client.get(reverse("admin:care_events_patient_change", args=[task.patient_id])).content.decode()
    episode = client.get(reverse("admin:care_events_episode_change", args=[task.episode_id])).content.decode()
    interaction = client.get(reverse("admin:care_events_agentinteraction_change", args=[task.interaction_id]))

    assert f"{tasks}?q={task.patient_id}" in patient
    assert reverse("admin:care_events_episode_change", args=[task.episode_id]) in patient
    assert f"{tasks}?q={task.episode_id}" in episode
    assert reverse("admin:care_events_patient_change", args=[task.patient_id]) in episode
    assert reverse("admin:tasks_app_escalationtask_change", args=[task.pk]) in interaction.content.decode()
    found = client.get(tasks, {"q": str(task.episode_id)}).context["cl"].result_list
    assert list(found) == [task]


def test_a_care_team_zone_that_is_not_a_zone_stops_startup(settings):
    settings.CARE_TEAM_TIME_ZONE = "America/Gotham"
    assert [error.msg for error in check_care_team_time_zone(None)] == [
        "CARE_TEAM_TIME_ZONE='America/Gotham' is not an IANA time zone name."
    ]
    settings.CARE_TEAM_TIME_ZONE = "Europe/Paris"
    assert check_care_team_time_zone(None) == []


def test_the_board_and_the_worklist_cost_the_same_queries_for_2_or_12_tasks(charge, nurse):
    client = client_for(charge.user)

    def queries(url: str) -> int:
        client.get(url)  # the session and permission caches warm
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    assigned_task(nurse)
    assigned_task(None)
    few = (queries(BOARD), queries(WORKLIST))
    for _ in range(10):
        assigned_task(nurse, minutes_to_breach=-5)
    assert (queries(BOARD), queries(WORKLIST)) == few
