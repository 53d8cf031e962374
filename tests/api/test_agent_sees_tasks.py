"""The agent sees what it caused: an interaction, and each of its responses, show their escalation tasks with the
due time and the assigned nurse's first name, and nothing else about her."""

import pytest

from tasks_app.models import EscalationTask
from tests.care_events.factories import AgentInteractionFactory, InteractionResponseFactory
from tests.helpers import drain
from tests.tasks_app.factories import EscalationTaskFactory, NurseShiftFactory

pytestmark = pytest.mark.django_db

TASK_KEYS = {
    "id",
    "status",
    "severity",
    "priority",
    "action_type",
    "sla_breach_at",
    "assigned_at",
    "assigned_nurse_first_name",
}
HIGH = {"text": "I gained four pounds since yesterday", "severity": "HIGH", "reason_codes": ["HF_WEIGHT_GAIN"]}


@pytest.fixture
def nurse():
    shift = NurseShiftFactory(nurse__user__first_name="Grace", nurse__user__last_name="Hopkins")
    return shift.nurse


def _nothing_else_about(nurse, body: bytes) -> None:
    for private in (nurse.phone, nurse.email, nurse.user.last_name, nurse.user.username):
        assert private.encode() not in body


def test_the_interaction_and_its_escalating_response_show_the_task_and_the_nurses_first_name(agent_client, nurse):
    interaction = AgentInteractionFactory()

    posted = agent_client.post(f"/api/v1/interactions/{interaction.pk}/responses/", HIGH, format="json")
    drain()
    read = agent_client.get(f"/api/v1/interactions/{interaction.pk}/")

    assert posted.status_code == 201
    assert posted.json()["task"] is None  # the escalation runs after the response is recorded
    assert read.status_code == 200
    task = EscalationTask.objects.get()
    [shown] = read.json()["tasks"]
    assert set(shown) == TASK_KEYS
    assert shown["id"] == str(task.pk)
    assert (shown["status"], shown["severity"], shown["priority"], shown["action_type"]) == (
        "ASSIGNED",
        "HIGH",
        "HIGH",
        "NURSE_CALLBACK_2H",
    )
    assert shown["sla_breach_at"] == task.sla_breach_at.isoformat().replace("+00:00", "Z")
    assert shown["assigned_at"] is not None
    assert shown["assigned_nurse_first_name"] == "Grace"
    [response] = read.json()["responses"]
    assert response["task"] == shown
    _nothing_else_about(nurse, read.content)


def test_a_flag_shows_among_the_tasks_and_no_response_claims_it(agent_client, nurse):
    interaction = AgentInteractionFactory()
    agent_client.post(
        f"/api/v1/interactions/{interaction.pk}/responses/", {"text": "Fine", "severity": "LOW"}, format="json"
    )
    flag = {"severity": "MODERATE", "reason_codes": ["MED_NOT_FILLED"], "action_type": "MEDICATION_REVIEW"}
    raised = agent_client.post(f"/api/v1/interactions/{interaction.pk}/raise-flag/", flag, format="json")
    drain()

    read = agent_client.get(f"/api/v1/interactions/{interaction.pk}/").json()

    [shown] = read["tasks"]
    assert shown["id"] == raised.json()["id"]
    assert (shown["action_type"], shown["status"], shown["assigned_nurse_first_name"]) == (
        "MEDICATION_REVIEW",
        "ASSIGNED",
        "Grace",
    )
    assert [response["task"] for response in read["responses"]] == [None]  # the LOW answer escalated nothing


def test_an_open_task_shows_no_nurse(agent_client):
    interaction = AgentInteractionFactory()
    agent_client.post(f"/api/v1/interactions/{interaction.pk}/responses/", HIGH, format="json")
    drain()  # nobody on shift: the task stays OPEN

    [shown] = agent_client.get(f"/api/v1/interactions/{interaction.pk}/").json()["tasks"]

    assert (shown["status"], shown["assigned_at"], shown["assigned_nurse_first_name"]) == ("OPEN", None, None)


def test_reading_an_interaction_costs_the_same_whatever_its_tasks(agent_client, django_assert_max_num_queries):
    interaction = AgentInteractionFactory()
    for _ in range(5):
        nurse = NurseShiftFactory().nurse
        response = InteractionResponseFactory(interaction=interaction, severity="HIGH")
        EscalationTaskFactory(
            episode=interaction.episode,
            interaction=interaction,
            assigned_to=nurse,
            status="ASSIGNED",
            assigned_at=response.received_at,
            source_key=f"response:{response.pk}",
        )
    agent_client.get(f"/api/v1/interactions/{interaction.pk}/")  # warm: the token's user, the throttle

    # Authentication (the key, the user's and her groups' permissions: 3), the interaction, its responses, tasks,
    # nurses and users, the audit row: none of it per task.
    with django_assert_max_num_queries(10):
        read = agent_client.get(f"/api/v1/interactions/{interaction.pk}/")

    assert len(read.json()["tasks"]) == 5
    assert all(response["task"] is not None for response in read.json()["responses"])
