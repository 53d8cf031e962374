"""A patient's text where the agent finds it: an episode's interactions with their latest texts, every text since
a cursor, and marking one handled (docs/api.md#a-patients-text)."""

import base64
import uuid

import pytest
from django.utils.timezone import now

from care_events.message_serializers import message_cursor
from care_events.models import PatientMessage
from care_events.services.interactions import patient_reply_record
from tests.api.conftest import client_for
from tests.care_events.factories import AgentInteractionFactory
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory

pytestmark = pytest.mark.django_db

FEED = "/api/v1/patient-messages/"


def text(interaction, body="I feel dizzy since this morning"):
    return patient_reply_record(
        patient_id=interaction.episode.patient_id, text=body, provider_message_id=f"SM{uuid.uuid4().hex}"
    )


def episode_url(episode_id) -> str:
    return f"/api/v1/episodes/{episode_id}/interactions/"


def test_an_episodes_interactions_list_their_latest_texts(agent_client):
    interaction = AgentInteractionFactory()
    first, second = text(interaction, "one"), text(interaction, "two")

    body = agent_client.get(episode_url(interaction.episode_id)).json()

    assert body["count"] == 1
    listed = body["results"][0]
    assert (listed["id"], listed["status"], listed["unhandled_messages"]) == (str(interaction.pk), "IN_PROGRESS", 2)
    assert [m["id"] for m in listed["latest_messages"]] == [str(second.pk), str(first.pk)]
    assert listed["latest_messages"][0]["text"] == "two"


def test_a_text_with_no_open_interaction_opens_one_the_episode_lists(agent_client):
    interaction = AgentInteractionFactory(status="COMPLETED", completed_at=now())
    message = text(interaction)

    listed = agent_client.get(episode_url(interaction.episode_id)).json()["results"]

    assert [row["id"] for row in listed] == [str(message.interaction_id), str(interaction.pk)]


def test_an_unknown_episode_is_404(agent_client):
    assert agent_client.get(episode_url(uuid.uuid4())).status_code == 404


def test_the_feed_reads_every_text_after_a_cursor_in_order(agent_client):
    a, b = AgentInteractionFactory(), AgentInteractionFactory()
    texts = [text(a, "1"), text(b, "2"), text(a, "3")]

    first = agent_client.get(FEED, {"limit": 2}).json()
    assert [m["id"] for m in first["results"]] == [str(texts[0].pk), str(texts[1].pk)]
    assert first["has_more"] is True
    assert first["results"][1]["episode_id"] == str(b.episode_id)
    assert first["results"][1]["patient_id"] == str(b.episode.patient_id)

    second = agent_client.get(FEED, {"after": first["next_cursor"], "limit": 2}).json()
    assert ([m["text"] for m in second["results"]], second["has_more"]) == (["3"], False)

    idle = agent_client.get(FEED, {"after": second["next_cursor"]}).json()
    assert (idle["results"], idle["next_cursor"]) == ([], second["next_cursor"])

    newer = text(b, "4")
    assert [m["id"] for m in agent_client.get(FEED, {"after": idle["next_cursor"]}).json()["results"]] == [
        str(newer.pk)
    ]


def test_a_messages_own_cursor_reads_what_came_after_it(agent_client):
    interaction = AgentInteractionFactory()
    first, second = text(interaction, "1"), text(interaction, "2")

    body = agent_client.get(FEED, {"after": message_cursor(first.seq)}).json()

    assert [m["id"] for m in body["results"]] == [str(second.pk)]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"after": "garbage!"}, "after"),
        ({"after": base64.urlsafe_b64encode(b"pm1:x").decode()}, "after"),
        ({"after": base64.urlsafe_b64encode(b"other:5").decode()}, "after"),
        ({"after": ""}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"since": "x"}, "since"),
    ],
)
def test_bad_feed_input_is_400_naming_the_field(agent_client, params, field):
    response = agent_client.get(FEED, params)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_nurse_reads_only_the_texts_of_her_tasks_patients():
    hers, others = AgentInteractionFactory(), AgentInteractionFactory()
    mine, _ = text(hers, "mine"), text(others, "not hers")
    nurse, stranger = NurseFactory(), NurseFactory()
    EscalationTaskFactory(
        episode=hers.episode, interaction=hers, assigned_to=nurse, status="ASSIGNED", assigned_at=now()
    )

    read = client_for(nurse.user).get(FEED).json()["results"]

    assert [m["id"] for m in read] == [str(mine.pk)]
    assert client_for(stranger.user).get(FEED).json()["results"] == []
    assert client_for(stranger.user).get(episode_url(hers.episode_id)).status_code == 404
    assert client_for(nurse.user).get(episode_url(others.episode_id)).status_code == 404


def test_anonymous_is_401():
    assert client_for(None).get(FEED).status_code == 401


def test_the_agent_marks_a_text_handled(agent_client):
    message = text(AgentInteractionFactory())
    url = f"/api/v1/patient-messages/{message.pk}/handled/"

    first = agent_client.post(url)
    again = agent_client.post(url)

    assert first.status_code == again.status_code == 200
    assert first.json()["handled_how"] == "AGENT_MARKED"
    assert again.json()["handled_at"] == first.json()["handled_at"]
    assert PatientMessage.objects.get().handled_at is not None


def test_a_nurse_cannot_mark_a_text_handled():
    interaction = AgentInteractionFactory()
    message = text(interaction)
    nurse = NurseFactory()
    EscalationTaskFactory(
        episode=interaction.episode, interaction=interaction, assigned_to=nurse, status="ASSIGNED", assigned_at=now()
    )

    response = client_for(nurse.user).post(f"/api/v1/patient-messages/{message.pk}/handled/")

    assert response.status_code == 403
    assert PatientMessage.objects.get().handled_at is None


def test_an_unknown_message_is_404(agent_client):
    assert agent_client.post(f"/api/v1/patient-messages/{uuid.uuid4()}/handled/").status_code == 404
