"""Events name who acted: the user whose request caused them, not the nurse the task belongs to; None for the
system's own work."""

import pytest
from django.utils import timezone

from care_events.platform.bus.models import Event
from tests.api.conftest import client_for
from tests.api.factories import StaffUserFactory
from tests.care_events.factories import AgentInteractionFactory, EpisodeFactory
from tests.helpers import drain
from tests.tasks_app.factories import EscalationTaskFactory

pytestmark = pytest.mark.django_db


def actor_of(name: str) -> int | None:
    return Event.objects.get(name=name).actor


@pytest.fixture
def supervisor():
    """Staff holding every permission, whatever the API checks."""
    return StaffUserFactory(is_superuser=True)


def test_staff_acknowledging_for_a_nurse_is_recorded_as_staff(supervisor, nurse_a):
    task = EscalationTaskFactory(assigned_to=nurse_a, status="ASSIGNED", assigned_at=timezone.now())

    response = client_for(supervisor).post(f"/api/v1/tasks/{task.pk}/acknowledge/")

    assert response.status_code == 200
    event = Event.objects.get(name="task/acknowledged")
    assert (event.actor, event.data["nurse_id"]) == (supervisor.pk, nurse_a.pk)


def test_the_nurse_acknowledging_and_resolving_is_recorded_as_her(nurse_a):
    task = EscalationTaskFactory(assigned_to=nurse_a, status="ASSIGNED", assigned_at=timezone.now())
    client = client_for(nurse_a.user)

    client.post(f"/api/v1/tasks/{task.pk}/acknowledge/")
    client.post(f"/api/v1/tasks/{task.pk}/resolve/", {"resolution": "Called her back."})

    assert actor_of("task/acknowledged") == actor_of("task/resolved") == nurse_a.user_id


def test_a_reassignment_and_a_cancel_name_the_staff_member(supervisor, nurse_a, nurse_b):
    task = EscalationTaskFactory(assigned_to=nurse_a, status="ASSIGNED", assigned_at=timezone.now())
    client = client_for(supervisor)

    client.post(f"/api/v1/tasks/{task.pk}/reassign/", {"nurse_id": nurse_b.pk}, format="json")
    client.post(f"/api/v1/tasks/{task.pk}/cancel/", {"reason": "Duplicate."}, format="json")

    assert actor_of("task/reassigned") == actor_of("task/cancelled") == supervisor.pk


def test_the_agents_flag_names_the_agent_and_the_assignment_that_follows_names_nobody(agent, nurse_a):
    interaction = AgentInteractionFactory()
    flag = {"severity": "HIGH", "reason_codes": ["HF_BREATHING_WORSE"], "action_type": "NURSE_CALLBACK_2H"}

    response = client_for(agent).post(f"/api/v1/interactions/{interaction.pk}/raise-flag/", flag, format="json")
    drain()

    assert response.status_code == 201
    assert actor_of("task/created") == actor_of("interaction/escalated") == agent.pk
    assert actor_of("task/assigned") is None  # round-robin, in a worker: the system


def test_the_agents_discharge_response_and_completion_name_the_agent(agent):
    episode = EpisodeFactory(discharged_at=None)
    interaction = AgentInteractionFactory(episode=episode)
    client = client_for(agent)

    client.post(f"/api/v1/episodes/{episode.pk}/discharge/")
    client.post(
        f"/api/v1/interactions/{interaction.pk}/responses/",
        {"text": "Fine", "severity": "LOW", "reason_codes": []},
        format="json",
    )
    client.post(f"/api/v1/interactions/{interaction.pk}/complete/", {"outcome": "PATIENT_OK"}, format="json")

    names = ["patient/discharged", "interaction/response_received", "checkin/completed"]
    assert [actor_of(name) for name in names] == [agent.pk] * 3
