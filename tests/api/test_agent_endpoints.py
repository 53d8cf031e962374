"""The interaction agent's endpoints, happy paths: the rows they write, the events they emit, what they answer."""

import datetime as dt

import pytest
from django.utils import timezone

from care_events.models import AgentInteraction, Episode, InteractionResponse, Patient
from care_events.platform.bus.models import Event, Timer
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask
from tests.care_events.factories import AgentInteractionFactory, EpisodeFactory, OutreachAttemptFactory
from tests.helpers import drain, event_names

pytestmark = pytest.mark.django_db

PATIENT = {
    "first_name": "Ada",
    "last_name": "Moreno",
    "date_of_birth": "1948-05-17",
    "phone": "(202) 555-0143",
    "timezone": "America/Chicago",
    "preferred_language": "es",
}


def test_create_a_patient_stores_the_phone_in_e164(agent_client):
    response = agent_client.post("/api/v1/patients/", PATIENT, format="json")

    assert response.status_code == 201
    patient = Patient.objects.get()
    assert response.json()["id"] == str(patient.pk)
    assert (patient.phone, patient.timezone, patient.preferred_language) == ("+12025550143", "America/Chicago", "es")
    assert response.json()["phone"] == "+12025550143"
    assert response.json()["sms_consent"] is True


def test_read_a_patient(agent_client):
    patient_id = agent_client.post("/api/v1/patients/", PATIENT, format="json").json()["id"]

    response = agent_client.get(f"/api/v1/patients/{patient_id}/")

    assert response.status_code == 200
    assert response.json()["last_name"] == "Moreno"


def test_create_and_read_an_episode(agent_client):
    patient_id = agent_client.post("/api/v1/patients/", PATIENT, format="json").json()["id"]
    body = {"patient_id": patient_id, "admitted_at": "2026-01-10T08:00:00Z", "condition": "HF", "facility": "GENERAL"}

    created = agent_client.post("/api/v1/episodes/", body, format="json")
    read = agent_client.get(f"/api/v1/episodes/{created.json()['id']}/")

    assert created.status_code == 201
    assert read.status_code == 200
    assert read.json() == created.json()
    episode = Episode.objects.get()
    assert (str(episode.patient_id), episode.condition, episode.discharged_at) == (patient_id, "HF", None)
    assert read.json()["discharged_at"] is None


def test_discharge_emits_patient_discharged_and_schedules_the_checkin(agent_client):
    episode = EpisodeFactory(discharged_at=None)
    discharged_at = timezone.now() - dt.timedelta(hours=1)

    response = agent_client.post(
        f"/api/v1/episodes/{episode.pk}/discharge/", {"discharged_at": discharged_at.isoformat()}, format="json"
    )
    drain()

    assert response.status_code == 202
    episode.refresh_from_db()
    assert episode.discharged_at == discharged_at
    assert event_names() == ["patient/discharged"]
    assert Event.objects.get().data == {"episode_id": str(episode.pk)}
    assert Timer.objects.filter(kind="CHECKIN_DUE", subject_id=episode.pk).count() == 1


def test_discharge_defaults_to_now(agent_client):
    episode = EpisodeFactory(discharged_at=None)

    response = agent_client.post(f"/api/v1/episodes/{episode.pk}/discharge/")

    assert response.status_code == 202
    episode.refresh_from_db()
    assert timezone.now() - episode.discharged_at < dt.timedelta(seconds=10)


def test_start_an_interaction_with_its_outreach_attempt(agent_client):
    attempt = OutreachAttemptFactory()
    episode = attempt.plan.episode

    response = agent_client.post(
        "/api/v1/interactions/", {"episode_id": str(episode.pk), "outreach_attempt_id": str(attempt.pk)}, format="json"
    )

    assert response.status_code == 201
    interaction = AgentInteraction.objects.get()
    assert (interaction.episode_id, interaction.outreach_attempt_id) == (episode.pk, attempt.pk)
    assert response.json()["status"] == "IN_PROGRESS"


def test_an_attempt_of_another_episode_is_refused(agent_client):
    attempt = OutreachAttemptFactory()

    response = agent_client.post(
        "/api/v1/interactions/",
        {"episode_id": str(EpisodeFactory().pk), "outreach_attempt_id": str(attempt.pk)},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["outreach_attempt_id"]
    assert not AgentInteraction.objects.exists()


def test_read_an_interaction_with_its_responses(agent_client):
    interaction = AgentInteractionFactory()
    agent_client.post(
        f"/api/v1/interactions/{interaction.pk}/responses/", {"text": "Fine", "severity": "LOW"}, format="json"
    )

    response = agent_client.get(f"/api/v1/interactions/{interaction.pk}/")

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["responses"]] == ["Fine"]
    assert response.json()["severity"] == "LOW"


def test_a_response_keeps_the_question_the_agent_asked(agent_client):
    interaction = AgentInteractionFactory()
    url = f"/api/v1/interactions/{interaction.pk}/responses/"

    asked = agent_client.post(url, {"question": "How is your breathing?", "text": "Worse", "severity": "LOW"})
    unasked = agent_client.post(url, {"text": "Also tired", "severity": "LOW"})
    too_long = agent_client.post(url, {"question": "?" * 1001, "text": "x", "severity": "LOW"})

    assert (asked.status_code, asked.json()["question"]) == (201, "How is your breathing?")
    assert (unasked.status_code, unasked.json()["question"]) == (201, "")
    assert too_long.status_code == 400 and list(too_long.json()["error"]["fields"]) == ["question"]


def test_a_low_response_is_recorded_and_escalates_nothing(agent_client, nurse_a):
    interaction = AgentInteractionFactory()

    response = agent_client.post(
        f"/api/v1/interactions/{interaction.pk}/responses/",
        {"text": "I feel fine", "severity": "LOW"},
        format="json",
    )
    drain()

    assert response.status_code == 201
    assert response.json()["interaction_id"] == str(interaction.pk)
    assert response.json()["reason_codes"] == []
    assert event_names() == ["interaction/response_received"]
    assert not EscalationTask.objects.exists()


def test_a_high_response_escalates_to_an_assigned_task(agent_client, nurse_a):
    interaction = AgentInteractionFactory()

    response = agent_client.post(
        f"/api/v1/interactions/{interaction.pk}/responses/",
        {"text": "I gained 4 pounds since yesterday", "severity": "HIGH", "reason_codes": ["HF_WEIGHT_GAIN"]},
        format="json",
    )
    drain()

    assert response.status_code == 201
    response_row = InteractionResponse.objects.get()
    assert response.json()["id"] == str(response_row.pk)
    assert response_row.reason_codes == ["HF_WEIGHT_GAIN"]
    task = EscalationTask.objects.get()
    assert (task.severity, task.status, task.assigned_to) == ("HIGH", "ASSIGNED", nurse_a)
    assert task.reason_codes == ["HF_WEIGHT_GAIN"]
    interaction.refresh_from_db()
    assert interaction.status == "ESCALATED"
    names = event_names()
    for name in ("interaction/response_received", "interaction/escalated", "task/created", "task/assigned"):
        assert name in names
    assert NotificationLog.objects.filter(recipient_nurse=nurse_a, type="TASK_ASSIGNED").exists()


def test_raise_flag_creates_a_task_with_the_agents_action_and_the_products_sla(agent_client, nurse_a):
    interaction = AgentInteractionFactory()
    body = {"severity": "MODERATE", "reason_codes": ["MED_NOT_FILLED"], "action_type": "MEDICATION_REVIEW"}

    response = agent_client.post(f"/api/v1/interactions/{interaction.pk}/raise-flag/", body, format="json")
    drain()

    assert response.status_code == 201
    task = EscalationTask.objects.get()
    assert response.json()["id"] == str(task.pk)
    assert response.json()["status"] == "OPEN"  # assignment follows through task/created
    assert (task.severity, task.action_type, task.priority, task.sla_minutes) == (
        "MODERATE",
        "MEDICATION_REVIEW",
        "NORMAL",
        480,
    )
    assert (task.interaction_id, task.episode_id, task.patient_id) == (
        interaction.pk,
        interaction.episode_id,
        interaction.episode.patient_id,
    )
    assert task.assigned_to == nurse_a
    interaction.refresh_from_db()
    assert interaction.status == "ESCALATED"
    assert {"task/created", "task/assigned"} <= set(event_names())
    escalated = Event.objects.get(name="interaction/escalated")
    assert escalated.data == {
        "interaction_id": str(interaction.pk),
        "response_id": None,
        "severity": "MODERATE",
        "task_id": str(task.pk),
    }


def test_raise_flag_defaults_sla_and_priority_by_severity(agent_client):
    interaction = AgentInteractionFactory()
    body = {"severity": "HIGH", "reason_codes": ["HF_SWELLING"], "action_type": "NURSE_CALLBACK_2H"}

    response = agent_client.post(f"/api/v1/interactions/{interaction.pk}/raise-flag/", body, format="json")

    assert response.status_code == 201
    assert (response.json()["sla_minutes"], response.json()["priority"]) == (120, "HIGH")


def test_handoff_creates_an_urgent_task_and_an_urgent_handoff_message(agent_client, nurse_a):
    interaction = AgentInteractionFactory()

    response = agent_client.post(
        f"/api/v1/interactions/{interaction.pk}/handoff/", {"reason": "PATIENT_REQUEST"}, format="json"
    )
    drain()

    assert response.status_code == 201
    task = EscalationTask.objects.get()
    assert (task.action_type, task.priority, task.severity, task.sla_minutes) == (
        "URGENT_HANDOFF",
        "URGENT",
        "CRITICAL",
        30,
    )
    assert task.reason_codes == ["PATIENT_REQUEST"]
    assert task.assigned_to == nurse_a
    assert NotificationLog.objects.filter(recipient_nurse=nurse_a, type="URGENT_HANDOFF").exists()


def test_complete_emits_checkin_completed_once(agent_client):
    interaction = AgentInteractionFactory()
    body = {"outcome": "PATIENT_OK", "summary": "Feeling well, meds filled."}

    first = agent_client.post(f"/api/v1/interactions/{interaction.pk}/complete/", body, format="json")
    second = agent_client.post(f"/api/v1/interactions/{interaction.pk}/complete/", body, format="json")

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["status"] == "COMPLETED"
    assert first.json()["completed_at"] is not None
    interaction.refresh_from_db()
    assert (interaction.status, interaction.outcome) == ("COMPLETED", "PATIENT_OK")
    assert event_names() == ["checkin/completed"]


def test_send_an_external_event(agent_client):
    episode = EpisodeFactory(discharged_at=None)

    response = agent_client.post(
        "/api/v1/events/", {"name": "patient/discharged", "data": {"episode_id": str(episode.pk)}}, format="json"
    )
    drain()

    assert response.status_code == 202
    event = Event.objects.get(name="patient/discharged")
    assert response.json()["id"] == str(event.pk)
    assert response.json()["name"] == "patient/discharged"
    assert Timer.objects.filter(kind="CHECKIN_DUE", subject_id=episode.pk).exists()


def test_an_event_with_a_repeated_id_is_accepted_once(agent_client, another_agent_client):
    episode = EpisodeFactory(discharged_at=None)
    body = {"name": "patient/discharged", "data": {"episode_id": str(episode.pk)}, "id": "hospital-adt-8841"}

    first = agent_client.post("/api/v1/events/", body, format="json")
    second = agent_client.post("/api/v1/events/", body, format="json")
    from_another = another_agent_client.post("/api/v1/events/", body, format="json")

    assert first.status_code == second.status_code == from_another.status_code == 202
    assert first.json()["id"] == second.json()["id"] == from_another.json()["id"]
    assert Event.objects.filter(name="patient/discharged").count() == 1
