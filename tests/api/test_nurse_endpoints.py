"""The nurses' endpoints (tasks and notifications) and the charge nurse's moves, happy paths and state moves."""

import datetime as dt

import pytest
from django.utils import timezone

from care_events.models import AgentInteraction
from care_events.platform.bus.models import Timer
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask
from tasks_app.services.sla import sla_timers_schedule
from tests.api.conftest import client_for
from tests.helpers import drain, event_names
from tests.notifications.factories import NotificationLogFactory
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory, NurseShiftFactory

pytestmark = pytest.mark.django_db


def assigned_task(nurse, **kwargs) -> EscalationTask:
    return EscalationTaskFactory(assigned_to=nurse, status="ASSIGNED", assigned_at=timezone.now(), **kwargs)


def test_a_nurse_lists_her_own_tasks_newest_first(nurse_a, nurse_b):
    older = assigned_task(nurse_a)
    newer = assigned_task(nurse_a)
    assigned_task(nurse_b)
    EscalationTask.objects.filter(pk=older.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))

    response = client_for(nurse_a.user).get("/api/v1/tasks/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [task["id"] for task in body["results"]] == [str(newer.pk), str(older.pk)]
    assert body["results"][0]["assigned_to"] == nurse_a.pk
    assert body["results"][0]["patient"]["phone"] == newer.patient.phone


def test_a_charge_nurse_lists_every_task_filtered_by_status_and_priority(charge_nurse_client, nurse_a, nurse_b):
    urgent = assigned_task(nurse_a, priority="URGENT")
    assigned_task(nurse_b, priority="LOW")
    EscalationTaskFactory(priority="URGENT")  # OPEN

    everything = charge_nurse_client.get("/api/v1/tasks/")
    filtered = charge_nurse_client.get("/api/v1/tasks/", {"status": "ASSIGNED", "priority": "URGENT"})

    assert everything.json()["count"] == 3
    assert [task["id"] for task in filtered.json()["results"]] == [str(urgent.pk)]


def test_the_task_list_is_paginated(charge_nurse_client):
    for _ in range(3):
        EscalationTaskFactory()

    first = charge_nurse_client.get("/api/v1/tasks/", {"page_size": 2})
    second = charge_nurse_client.get(first.json()["next"])

    assert (first.json()["count"], len(first.json()["results"]), len(second.json()["results"])) == (3, 2, 1)
    assert second.json()["next"] is None


def test_a_nurse_reads_her_task(nurse_a):
    task = assigned_task(nurse_a)

    response = client_for(nurse_a.user).get(f"/api/v1/tasks/{task.pk}/")

    assert response.status_code == 200
    assert response.json()["status"] == "ASSIGNED"


def test_the_assignee_acknowledges_then_resolves_which_cancels_the_sla_timers(nurse_a):
    task = assigned_task(nurse_a)
    sla_timers_schedule(task_id=task.pk)
    client = client_for(nurse_a.user)
    before = len(event_names())

    acknowledged = client.post(f"/api/v1/tasks/{task.pk}/acknowledge/")
    resolved = client.post(f"/api/v1/tasks/{task.pk}/resolve/", {"resolution": "Called; diuretic adjusted."})

    assert (acknowledged.status_code, resolved.status_code) == (200, 200)
    assert acknowledged.json()["status"] == "ACKNOWLEDGED"
    assert resolved.json()["status"] == "RESOLVED"
    task.refresh_from_db()
    assert (task.status, task.resolution) == ("RESOLVED", "Called; diuretic adjusted.")
    assert Timer.objects.filter(subject_id=task.pk).count() == 2
    assert not Timer.objects.filter(subject_id=task.pk, cancelled_at=None).exists()
    assert event_names()[before:] == ["task/acknowledged", "task/resolved"]


def test_a_charge_nurse_acknowledges_for_the_assignee(charge_nurse_client, nurse_a):
    task = assigned_task(nurse_a)

    response = charge_nurse_client.post(f"/api/v1/tasks/{task.pk}/acknowledge/")

    assert response.status_code == 200
    assert response.json()["status"] == "ACKNOWLEDGED"


def test_resolving_a_resolved_task_is_a_conflict(nurse_a):
    task = assigned_task(nurse_a)
    client = client_for(nurse_a.user)
    client.post(f"/api/v1/tasks/{task.pk}/resolve/", {"resolution": "Done"})

    response = client.post(f"/api/v1/tasks/{task.pk}/resolve/", {"resolution": "Again"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    task.refresh_from_db()
    assert task.resolution == "Done"


def test_acknowledging_an_unassigned_task_is_a_conflict(charge_nurse_client):
    task = EscalationTaskFactory()  # OPEN

    response = charge_nurse_client.post(f"/api/v1/tasks/{task.pk}/acknowledge/")

    assert response.status_code == 409


def test_a_charge_nurse_cancels_an_open_task_which_cancels_its_sla_timers(charge_nurse_client, nurse_a):
    task = assigned_task(nurse_a)
    sla_timers_schedule(task_id=task.pk)

    response = charge_nurse_client.post(f"/api/v1/tasks/{task.pk}/cancel/", {"reason": "Duplicate of another task"})

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["resolution"]) == ("CANCELLED", "Duplicate of another task")
    assert response.json()["cancelled_at"] is not None
    assert "task/cancelled" in event_names()
    assert not Timer.objects.filter(subject_id=task.pk, cancelled_at=None).exists()
    again = charge_nurse_client.post(f"/api/v1/tasks/{task.pk}/cancel/", {"reason": "Again"})
    assert again.status_code == 409


def test_cancel_without_a_reason_is_400_and_changes_nothing(charge_nurse_client, nurse_a):
    task = assigned_task(nurse_a)

    response = charge_nurse_client.post(f"/api/v1/tasks/{task.pk}/cancel/", {})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["reason"]
    task.refresh_from_db()
    assert task.status == "ASSIGNED"


def test_a_charge_nurse_reassigns_to_a_named_nurse(charge_nurse_client, nurse_a, nurse_b):
    task = assigned_task(nurse_a)

    response = charge_nurse_client.post(f"/api/v1/tasks/{task.pk}/reassign/", {"nurse_id": nurse_b.pk})
    drain()

    assert response.status_code == 200
    assert response.json()["assigned_to"] == nurse_b.pk
    task.refresh_from_db()
    assert (task.assigned_to, task.status) == (nurse_b, "ASSIGNED")
    assert "task/reassigned" in event_names()
    assert NotificationLog.objects.filter(recipient_nurse=nurse_b, type="TASK_REASSIGNED").exists()


def test_a_charge_nurse_reassigns_back_to_round_robin_skips_the_current_nurse(charge_nurse_client, nurse_a, nurse_b):
    task = assigned_task(nurse_a)

    response = charge_nurse_client.post(f"/api/v1/tasks/{task.pk}/reassign/", {"nurse_id": None})

    assert response.status_code == 200
    assert response.json()["assigned_to"] == nurse_b.pk


def test_reassigning_to_an_inactive_nurse_is_a_conflict(charge_nurse_client, nurse_a):
    task = assigned_task(nurse_a)
    inactive = NurseFactory(is_active=False)

    response = charge_nurse_client.post(f"/api/v1/tasks/{task.pk}/reassign/", {"nurse_id": inactive.pk})

    assert response.status_code == 409
    task.refresh_from_db()
    assert task.assigned_to == nurse_a


def test_a_nurse_lists_her_notifications_and_marks_one_read(nurse_a, nurse_b):
    mine = NotificationLogFactory(recipient_nurse=nurse_a, status="DELIVERED")
    NotificationLogFactory(recipient_nurse=nurse_b)
    client = client_for(nurse_a.user)
    before = len(event_names())

    listed = client.get("/api/v1/notifications/")
    read = client.post(f"/api/v1/notifications/{mine.pk}/read/")

    assert [n["id"] for n in listed.json()["results"]] == [str(mine.pk)]
    assert read.status_code == 200
    assert read.json()["status"] == "READ"
    mine.refresh_from_db()
    assert (mine.status, mine.read_at is not None) == ("READ", True)
    assert event_names()[before:] == ["notification/read"]


def test_the_agent_drives_a_checkin_the_nurse_sees_the_task(agent_client):
    """The docs/api.md walkthrough in one test: discharge → interaction → HIGH response → the nurse's task."""
    nurse = NurseShiftFactory().nurse
    patient = agent_client.post(
        "/api/v1/patients/",
        {"first_name": "Ada", "last_name": "Moreno", "date_of_birth": "1948-05-17", "phone": "+12025550143"},
    ).json()
    episode = agent_client.post(
        "/api/v1/episodes/",
        {"patient_id": patient["id"], "admitted_at": "2026-01-10T08:00:00Z", "condition": "HF", "facility": "GENERAL"},
    ).json()
    assert agent_client.post(f"/api/v1/episodes/{episode['id']}/discharge/").status_code == 202
    interaction = agent_client.post("/api/v1/interactions/", {"episode_id": episode["id"]}).json()
    agent_client.post(
        f"/api/v1/interactions/{interaction['id']}/responses/",
        {"text": "Short of breath", "severity": "HIGH", "reason_codes": ["HF_BREATHING_WORSE"]},
    )
    drain()

    tasks = client_for(nurse.user).get("/api/v1/tasks/").json()["results"]

    assert len(tasks) == 1
    assert (tasks[0]["severity"], tasks[0]["status"], tasks[0]["patient"]["id"]) == ("HIGH", "ASSIGNED", patient["id"])
    assert AgentInteraction.objects.get().status == "ESCALATED"


def test_reassigning_to_a_nurse_off_shift_is_a_conflict_naming_why(charge_nurse_client, nurse_a):
    task = assigned_task(nurse_a)
    off_shift = NurseFactory(user__first_name="Edith", user__last_name="Cavell")

    response = charge_nurse_client.post(f"/api/v1/tasks/{task.pk}/reassign/", {"nurse_id": off_shift.pk})

    assert response.status_code == 409
    assert response.json()["error"]["message"] == "Edith Cavell is not on shift now (no shift planned)."
    task.refresh_from_db()
    assert task.assigned_to == nurse_a


def test_reassigning_to_a_nurse_at_her_limit_is_a_conflict_until_the_charge_nurse_confirms(
    charge_nurse_client, nurse_a
):
    task = assigned_task(nurse_a)
    full = NurseShiftFactory(
        nurse__user__first_name="Linda", nurse__user__last_name="Richards", nurse__max_open_tasks=1
    ).nurse
    assigned_task(full)
    url = f"/api/v1/tasks/{task.pk}/reassign/"

    refused = charge_nurse_client.post(url, {"nurse_id": full.pk}, format="json")
    confirmed = charge_nurse_client.post(url, {"nurse_id": full.pk, "allow_over_limit": True}, format="json")

    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "Linda Richards already holds 1 open tasks (limit 1). Confirm to give it to her over her limit."
    )
    assert confirmed.status_code == 200
    assert (confirmed.json()["status"], EscalationTask.objects.get(pk=task.pk).assigned_to) == ("ASSIGNED", full)
