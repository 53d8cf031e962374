import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from care_events.platform.bus.models import Event
from care_events.platform.roles import NURSE
from tasks_app.models import EscalationTask, Nurse, NurseShift
from tests.care_events.factories import AgentInteractionFactory, EpisodeFactory, OutreachAttemptFactory
from tests.notifications.factories import NotificationLogFactory
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory, NurseShiftFactory, role_group

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nurse_role():
    role_group(NURSE)  # every nurse created in admin is put in it


# Shifts are typed in the care team's zone (CARE_TEAM_TIME_ZONE, America/New_York by default).
CARE_TEAM = ZoneInfo("America/New_York")
MONDAY = dt.datetime(2026, 12, 7, 7, 0, tzinfo=CARE_TEAM)


def nurse_form(**overrides):
    data = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace.hopper@hospital.example",
        "phone": "+14155550123",
        "preferred_channel": "SMS",
        "is_active": "on",
        "max_open_tasks": "8",
        "shifts-TOTAL_FORMS": "7",
        "shifts-INITIAL_FORMS": "0",
        "shifts-MIN_NUM_FORMS": "0",
        "shifts-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def week_of_shifts(start=MONDAY):
    data = {}
    for day in range(7):
        begins = start + dt.timedelta(days=day)
        ends = begins + dt.timedelta(hours=12)
        data[f"shifts-{day}-starts_at_0"] = begins.strftime("%Y-%m-%d")
        data[f"shifts-{day}-starts_at_1"] = begins.strftime("%H:%M:%S")
        data[f"shifts-{day}-ends_at_0"] = ends.strftime("%Y-%m-%d")
        data[f"shifts-{day}-ends_at_1"] = ends.strftime("%H:%M:%S")
    return data


def test_a_charge_nurse_creates_a_nurse_and_a_week_of_shifts(admin_client):
    response = admin_client.post(reverse("admin:tasks_app_nurse_add"), nurse_form(**week_of_shifts()))

    assert response.status_code == 302, response.context["adminform"].errors if response.context else response
    nurse = Nurse.objects.get(email="grace.hopper@hospital.example")
    assert nurse.user.get_full_name() == "Grace Hopper"
    assert nurse.user.username == "grace.hopper@hospital.example"
    assert not nurse.user.has_usable_password()
    assert nurse.max_open_tasks == 8
    assert list(nurse.shifts.values_list("starts_at", flat=True)) == [MONDAY + dt.timedelta(days=d) for d in range(7)]


def test_overlapping_shifts_typed_together_are_refused_and_nothing_is_saved(admin_client):
    data = nurse_form(**week_of_shifts())
    data["shifts-1-starts_at_0"] = MONDAY.strftime("%Y-%m-%d")
    data["shifts-1-starts_at_1"] = "18:00:00"

    response = admin_client.post(reverse("admin:tasks_app_nurse_add"), data)

    assert response.status_code == 200
    assert "Two of these shifts overlap each other" in response.content.decode()
    assert not Nurse.objects.exists()
    assert not get_user_model().objects.filter(username="grace.hopper@hospital.example").exists()


def test_a_shift_overlapping_a_saved_shift_is_refused_with_a_clear_message(admin_client):
    shift = NurseShiftFactory(starts_at=MONDAY, ends_at=MONDAY + dt.timedelta(hours=8))
    later = MONDAY + dt.timedelta(hours=4)
    response = admin_client.post(
        reverse("admin:tasks_app_nurseshift_add"),
        {
            "nurse": shift.nurse.pk,
            "starts_at_0": later.strftime("%Y-%m-%d"),
            "starts_at_1": later.strftime("%H:%M:%S"),
            "ends_at_0": later.strftime("%Y-%m-%d"),
            "ends_at_1": "20:00:00",
        },
    )
    assert response.status_code == 200
    # The clashing shift is named: its nurse, and its times in the care team's zone, labelled.
    assert f"This shift overlaps {shift.nurse} Mon 7 Dec 07:00-15:00 America/New_York." in response.content.decode()
    assert NurseShift.objects.count() == 1


def test_an_inverted_shift_is_refused_with_a_clear_message(admin_client):
    nurse = NurseFactory()
    response = admin_client.post(
        reverse("admin:tasks_app_nurseshift_add"),
        {
            "nurse": nurse.pk,
            "starts_at_0": "2026-12-07",
            "starts_at_1": "19:00:00",
            "ends_at_0": "2026-12-07",
            "ends_at_1": "07:00:00",
        },
    )
    assert response.status_code == 200
    assert "A shift must end after it starts." in response.content.decode()
    assert not NurseShift.objects.exists()


def test_the_email_of_an_existing_user_is_refused(admin_client):
    NurseFactory(user__username="grace.hopper@hospital.example")
    response = admin_client.post(reverse("admin:tasks_app_nurse_add"), nurse_form())
    assert response.status_code == 200
    assert "A user with this email already exists." in response.content.decode()


def test_a_bad_phone_number_is_refused_in_admin(admin_client):
    response = admin_client.post(reverse("admin:tasks_app_nurse_add"), nurse_form(phone="555 0100"))
    assert response.status_code == 200
    assert "Enter a valid phone number, e.g. +14155550123." in response.content.decode()
    assert not Nurse.objects.exists()


def test_a_phone_typed_in_national_format_is_stored_in_e164(admin_client):
    response = admin_client.post(reverse("admin:tasks_app_nurse_add"), nurse_form(phone="(202) 555-0143"))
    assert response.status_code == 302
    assert Nurse.objects.get().phone == "+12025550143"


def test_the_nurse_page_offers_one_blank_shift_row(admin_client):
    page = admin_client.get(reverse("admin:tasks_app_nurse_add")).content.decode()
    assert 'name="shifts-TOTAL_FORMS" value="1"' in page


def test_the_nurse_list_shows_who_is_on_shift_and_open_tasks(admin_client):
    on_shift = NurseShiftFactory(nurse__user__last_name="Nightingale").nurse
    NurseFactory(user__last_name="Seacole")
    EscalationTaskFactory(status=EscalationTask.Status.ASSIGNED, assigned_to=on_shift, assigned_at=timezone.now())
    EscalationTaskFactory(status=EscalationTask.Status.ASSIGNED, assigned_to=on_shift, assigned_at=timezone.now())

    response = admin_client.get(reverse("admin:tasks_app_nurse_changelist"))

    assert response.status_code == 200
    by_last_name = {n.user.last_name: n for n in response.context["cl"].result_list}
    assert by_last_name["Nightingale"].on_shift_now is True
    assert by_last_name["Nightingale"].open_task_count == 2
    assert by_last_name["Seacole"].on_shift_now is False
    assert by_last_name["Seacole"].open_task_count == 0
    assert "On shift now" in response.content.decode()


def test_nurse_search_and_filter(admin_client):
    NurseFactory(user__last_name="Nightingale")
    NurseFactory(user__last_name="Seacole", is_active=False)
    url = reverse("admin:tasks_app_nurse_changelist")

    found = admin_client.get(url, {"q": "Nightin"}).context["cl"].result_list
    assert [n.user.last_name for n in found] == ["Nightingale"]
    inactive = admin_client.get(url, {"is_active__exact": "0"}).context["cl"].result_list
    assert [n.user.last_name for n in inactive] == ["Seacole"]


def test_shifts_filter_by_nurse_and_date(admin_client):
    first = NurseShiftFactory(starts_at=MONDAY, ends_at=MONDAY + dt.timedelta(hours=8))
    NurseShiftFactory(
        nurse=first.nurse,
        starts_at=MONDAY + dt.timedelta(days=1),
        ends_at=MONDAY + dt.timedelta(days=1, hours=8),
    )
    NurseShiftFactory(starts_at=MONDAY, ends_at=MONDAY + dt.timedelta(hours=8))
    url = reverse("admin:tasks_app_nurseshift_changelist")

    by_nurse = admin_client.get(url, {"nurse__id__exact": first.nurse.pk}).context["cl"].result_list
    assert {s.nurse_id for s in by_nurse} == {first.nurse.pk} and len(by_nurse) == 2
    on_monday = admin_client.get(url, {"starts_at__year": 2026, "starts_at__month": 12, "starts_at__day": 7})
    assert len(on_monday.context["cl"].result_list) == 2


@pytest.mark.parametrize(
    "name",
    [
        "tasks_app_nurse",
        "tasks_app_nurseshift",
        "tasks_app_escalationtask",
        "care_events_patient",
        "care_events_episode",
        "care_events_outreachplan",
        "care_events_outreachattempt",
        "care_events_agentinteraction",
        "notifications_notificationlog",
    ],
)
def test_every_admin_page_loads_and_searches(admin_client, name):
    NotificationLogFactory()
    OutreachAttemptFactory()
    AgentInteractionFactory()
    NurseShiftFactory()
    changelist = admin_client.get(reverse(f"admin:{name}_changelist"))
    assert changelist.status_code == 200
    assert admin_client.get(reverse(f"admin:{name}_changelist"), {"q": "not-a-uuid"}).status_code == 200
    obj = changelist.context["cl"].result_list[0]
    assert admin_client.get(reverse(f"admin:{name}_change", args=[obj.pk])).status_code == 200


def test_notification_logs_and_tasks_are_read_only(admin_client):
    log = NotificationLogFactory()
    assert admin_client.get(reverse("admin:notifications_notificationlog_add")).status_code == 403
    page = admin_client.get(reverse("admin:notifications_notificationlog_change", args=[log.pk]))
    assert 'name="_save"' not in page.content.decode()
    response = admin_client.post(
        reverse("admin:notifications_notificationlog_change", args=[log.pk]), {"status": "READ"}
    )
    assert response.status_code == 403
    log.refresh_from_db()
    assert log.status == "PENDING"
    assert admin_client.get(reverse("admin:tasks_app_escalationtask_add")).status_code == 403


def test_an_episode_can_be_viewed_with_its_patient(admin_client):
    episode = EpisodeFactory()
    page = admin_client.get(reverse("admin:care_events_episode_change", args=[episode.pk]))
    assert page.status_code == 200


def test_a_charge_nurse_cancels_open_tasks_from_admin_through_the_service(admin_client):
    open_task, resolved = EscalationTaskFactory(), EscalationTaskFactory(status="RESOLVED", resolved_at=timezone.now())

    response = admin_client.post(
        reverse("admin:tasks_app_escalationtask_changelist"),
        {"action": "cancel", "_selected_action": [open_task.pk, resolved.pk]},
        follow=True,
    )

    assert "1 task(s) cancelled." in response.content.decode()
    open_task.refresh_from_db()
    resolved.refresh_from_db()
    assert (open_task.status, resolved.status) == ("CANCELLED", "RESOLVED")
    assert open_task.resolution == "Cancelled in admin by admin."
    assert Event.objects.filter(name="task/cancelled").count() == 1
