"""A patient's own text (not a keyword): where it is recorded, what it answers, and that it is recorded once."""

import datetime as dt

import pytest
import time_machine

from care_events.models import AgentInteraction, OutreachAttempt, PatientMessage
from care_events.platform.bus.models import Event, Timer
from care_events.services.episodes import episode_discharge
from care_events.services.interactions import (
    interaction_complete,
    interaction_escalate,
    interaction_start,
    patient_reply_record,
)
from notifications.backends import local
from tasks_app.models import EscalationTask
from tests.care_events.factories import AgentInteractionFactory, EpisodeFactory, PatientFactory
from tests.helpers import drain, event_names
from tests.tasks_app.factories import EscalationTaskFactory

pytestmark = pytest.mark.django_db

NOON_NEW_YORK = dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.CHECKIN_DELAY = 24 * 3600
    settings.CHECKIN_RESPONSE_WINDOW = 4 * 3600
    local.clear_outbox()


def reply(patient, text="Doing fine, thank you", sid="SM1"):
    return patient_reply_record(patient_id=patient.pk, text=text, provider_message_id=sid)


def test_a_reply_is_recorded_on_the_open_interaction():
    interaction = AgentInteractionFactory()
    message = reply(interaction.episode.patient)
    assert (message.interaction_id, message.text, message.provider_message_id) == (
        interaction.pk,
        "Doing fine, thank you",
        "SM1",
    )
    assert AgentInteraction.objects.count() == 1


def test_a_reply_is_recorded_on_an_escalated_interaction():
    interaction = AgentInteractionFactory()
    task = EscalationTaskFactory(episode=interaction.episode)
    interaction_escalate(interaction_id=interaction.pk, task_id=task.pk, severity="HIGH")
    message = reply(interaction.episode.patient)
    assert message.interaction_id == interaction.pk


def test_a_reply_after_the_interaction_is_completed_starts_a_new_one():
    interaction = AgentInteractionFactory()
    interaction_complete(interaction=interaction, outcome="PATIENT_OK")
    message = reply(interaction.episode.patient)
    assert message.interaction_id != interaction.pk
    new = message.interaction
    assert (new.episode_id, new.status, new.outreach_attempt_id) == (interaction.episode_id, "IN_PROGRESS", None)


def test_a_reply_goes_to_the_most_recently_discharged_episode():
    patient = PatientFactory()
    now = NOON_NEW_YORK
    EpisodeFactory(patient=patient, admitted_at=now - dt.timedelta(days=60), discharged_at=now - dt.timedelta(days=55))
    latest = EpisodeFactory(
        patient=patient, admitted_at=now - dt.timedelta(days=9), discharged_at=now - dt.timedelta(days=5)
    )
    EpisodeFactory(patient=patient, admitted_at=now - dt.timedelta(days=1), discharged_at=None)  # in hospital again
    assert reply(patient).interaction.episode_id == latest.pk


def test_a_patient_never_discharged_has_no_conversation_to_reply_to():
    patient = PatientFactory()
    EpisodeFactory(patient=patient, discharged_at=None)
    assert reply(patient) is None
    assert not PatientMessage.objects.exists()
    assert not AgentInteraction.objects.exists()
    assert "interaction/patient_replied" not in event_names()


def test_the_event_carries_ids_only_and_is_emitted_once_per_message():
    interaction = AgentInteractionFactory()
    message = reply(interaction.episode.patient, text="My weight is up 3 lb")
    event = Event.objects.get(name="interaction/patient_replied")
    assert event.data == {"interaction_id": str(interaction.pk), "message_id": str(message.pk)}
    assert event.idempotency_key == f"patient-replied:{message.pk}"
    assert "3 lb" not in str(event.data)


def test_the_same_provider_message_again_returns_the_first_and_changes_nothing():
    interaction = AgentInteractionFactory()
    first = reply(interaction.episode.patient)
    interaction_complete(interaction=interaction, outcome="PATIENT_OK")  # would start a new one, were it new
    again = reply(interaction.episode.patient, text="something else")
    assert again == first
    assert again.text == "Doing fine, thank you"
    assert (PatientMessage.objects.count(), AgentInteraction.objects.count()) == (1, 1)
    assert event_names().count("interaction/patient_replied") == 1


def discharged_and_texted():
    """A discharged episode whose check-in was texted a second ago (attempt SENT, no-answer timer pending)."""
    episode = EpisodeFactory(discharged_at=None, admitted_at=NOON_NEW_YORK - dt.timedelta(days=3))
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        episode_discharge(episode=episode, discharged_at=NOON_NEW_YORK)
        drain()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, seconds=1), tick=False):
        drain()
    assert OutreachAttempt.objects.get().status == "SENT"
    return episode


def test_a_reply_answers_the_checkin_and_no_call_task_follows():
    episode = discharged_and_texted()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, hours=2), tick=False):
        message = reply(episode.patient)
        drain()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, hours=5), tick=False):
        drain()
    attempt = OutreachAttempt.objects.get()
    assert (attempt.status, attempt.answered_at) == ("ANSWERED", message.received_at)
    assert Timer.objects.get(kind="CHECKIN_NO_ANSWER").cancelled_at is not None
    assert not EscalationTask.objects.exists()
    assert "checkin/no_answer" not in event_names()
    # The reply started the conversation the check-in asked for.
    assert message.interaction.episode_id == episode.pk


def test_a_late_reply_is_recorded_but_leaves_an_unanswered_attempt_and_its_call_task_alone():
    episode = discharged_and_texted()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, hours=4, seconds=2), tick=False):
        drain()
    assert OutreachAttempt.objects.get().status == "NO_ANSWER"
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, hours=6), tick=False):
        message = reply(episode.patient)
        drain()
    assert message is not None
    assert OutreachAttempt.objects.get().status == "NO_ANSWER"  # the nurse still calls: that task is hers
    assert EscalationTask.objects.get().action_type == "CALL_PATIENT_NO_ANSWER"


def test_a_reply_from_a_patient_who_opted_out_is_still_recorded():
    interaction = interaction_start(episode=EpisodeFactory(patient__sms_consent=False))
    assert reply(interaction.episode.patient).interaction_id == interaction.pk
