"""GET /api/v1/interactions/{id}/messages/: what the patient texted, for the agent (and nurses)."""

import datetime as dt
import uuid

import pytest
import time_machine
from django.utils.timezone import now

from care_events.services.interactions import patient_reply_record
from tests.api.conftest import client_for
from tests.care_events.factories import AgentInteractionFactory
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory

pytestmark = pytest.mark.django_db

MORNING = dt.datetime(2026, 12, 2, 14, 0, tzinfo=dt.UTC)


def texted(interaction, *texts):
    """The patient texts each of `texts`, a minute apart, through the service the inbound webhook calls."""
    messages = []
    for n, text in enumerate(texts):
        with time_machine.travel(MORNING + dt.timedelta(minutes=n), tick=False):
            messages.append(
                patient_reply_record(
                    patient_id=interaction.episode.patient_id, text=text, provider_message_id=f"SM{uuid.uuid4().hex}"
                )
            )
    return messages


def url(interaction_id) -> str:
    return f"/api/v1/interactions/{interaction_id}/messages/"


def test_the_agent_reads_the_patients_replies_oldest_first(agent_client):
    interaction = AgentInteractionFactory()
    first, second = texted(interaction, "Feeling a bit dizzy", "It passed after lunch")

    response = agent_client.get(url(interaction.pk))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    fields = ("id", "interaction_id", "text", "received_at", "red_flag", "handled_at")
    assert [{k: m[k] for k in fields} for m in body["results"]] == [
        {
            "id": str(first.pk),
            "interaction_id": str(interaction.pk),
            "text": "Feeling a bit dizzy",
            "received_at": "2026-12-02T14:00:00Z",
            "red_flag": False,
            "handled_at": None,
        },
        {
            "id": str(second.pk),
            "interaction_id": str(interaction.pk),
            "text": "It passed after lunch",
            "received_at": "2026-12-02T14:01:00Z",
            "red_flag": False,
            "handled_at": None,
        },
    ]


def test_the_list_is_paginated(agent_client):
    interaction = AgentInteractionFactory()
    texted(interaction, "one", "two", "three")

    page = agent_client.get(url(interaction.pk), {"page_size": 2, "page": 2}).json()

    assert (page["count"], [m["text"] for m in page["results"]], page["next"]) == (3, ["three"], None)
    assert agent_client.get(url(interaction.pk), {"page": "x"}).status_code == 400


def test_only_this_interactions_messages_are_listed(agent_client):
    mine, other = AgentInteractionFactory(), AgentInteractionFactory()
    texted(other, "not for this interaction")

    assert agent_client.get(url(mine.pk)).json()["results"] == []


def test_a_charge_nurse_reads_them_too(charge_nurse_client):
    interaction = AgentInteractionFactory()
    texted(interaction, "hello")

    assert charge_nurse_client.get(url(interaction.pk)).json()["count"] == 1


def test_a_nurse_reads_them_only_for_the_patients_of_her_tasks():
    interaction = AgentInteractionFactory()
    texted(interaction, "hello")
    hers, another = NurseFactory(), NurseFactory()
    EscalationTaskFactory(
        episode=interaction.episode, interaction=interaction, assigned_to=hers, status="ASSIGNED", assigned_at=now()
    )

    mine = client_for(hers.user).get(url(interaction.pk))
    theirs = client_for(another.user).get(url(interaction.pk))

    assert (mine.status_code, mine.json()["count"]) == (200, 1)
    assert theirs.status_code == 404


def test_anonymous_is_401():
    assert client_for(None).get(url(AgentInteractionFactory().pk)).status_code == 401


def test_an_unknown_interaction_is_404(agent_client):
    response = agent_client.get(url(uuid.uuid4()))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_messages_cannot_be_written_through_the_api(agent_client):
    interaction = AgentInteractionFactory()

    response = agent_client.post(url(interaction.pk), {"text": "forged"}, format="json")

    assert response.status_code == 405
