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
    interaction_response_record,
    interaction_start,
    patient_message_handle,
    patient_reply_record,
)
from notifications.backends import local
from tasks_app.models import EscalationTask
from tasks_app.services.escalation import interaction_flag_raise
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


AFTER_CHECKIN = NOON_NEW_YORK + dt.timedelta(days=1, seconds=1)


def at(**delta):
    """A moment after the check-in was texted."""
    return time_machine.travel(AFTER_CHECKIN + dt.timedelta(**delta), tick=False)


def test_a_reply_opens_an_interaction_tied_to_the_checkin_it_answers_and_the_agent_takes_it_up():
    episode = discharged_and_texted()
    with at(minutes=5):
        message = reply(episode.patient)
    attempt = OutreachAttempt.objects.get()
    assert message.interaction.outreach_attempt_id == attempt.pk
    # The agent's own start of the conversation is this interaction, not a second one beside it.
    assert interaction_start(episode=episode, outreach_attempt=attempt) == message.interaction
    assert AgentInteraction.objects.count() == 1


def test_a_bare_reply_answers_nothing_until_someone_acts():
    episode = discharged_and_texted()
    with at(minutes=5):
        message = reply(episode.patient, text="I feel dizzy since this morning")
        drain()
    assert OutreachAttempt.objects.get().status == "SENT"
    assert Timer.objects.get(kind="CHECKIN_NO_ANSWER").cancelled_at is None
    review = Timer.objects.get(kind="REPLY_REVIEW", subject_id=message.pk)
    assert review.due_at == message.received_at + dt.timedelta(minutes=15)
    assert message.handled_at is None


def test_an_agent_response_after_the_reply_answers_the_checkin_and_no_task_follows():
    episode = discharged_and_texted()
    with at(minutes=5):
        message = reply(episode.patient)
        drain()
    with at(minutes=6):
        interaction_response_record(interaction=message.interaction, text="Dizzy", severity="LOW", reason_codes=[])
        drain()
    with at(hours=5):
        drain()
    message.refresh_from_db()
    assert (message.handled_how, message.handled_at) == ("AGENT_RESPONSE", AFTER_CHECKIN + dt.timedelta(minutes=6))
    attempt = OutreachAttempt.objects.get()
    assert (attempt.status, attempt.answered_at) == ("ANSWERED", AFTER_CHECKIN + dt.timedelta(minutes=6))
    assert Timer.objects.get(kind="REPLY_REVIEW").cancelled_at is not None
    assert not EscalationTask.objects.exists()
    assert "checkin/no_answer" not in event_names()


def test_the_agent_marks_a_reply_handled():
    episode = discharged_and_texted()
    with at(minutes=5):
        message = reply(episode.patient)
        assert patient_message_handle(message_id=message.pk).handled_how == "AGENT_MARKED"
        assert patient_message_handle(message_id=message.pk).handled_how == "AGENT_MARKED"  # once
    with at(hours=5):
        drain()
    assert OutreachAttempt.objects.get().status == "ANSWERED"
    assert not EscalationTask.objects.exists()


def test_an_unacted_reply_becomes_a_nurse_review_task_at_the_configured_time(settings):
    settings.REPLY_REVIEW_AFTER_MINUTES = 20
    episode = discharged_and_texted()
    with at(minutes=5):
        message = reply(episode.patient, text="I feel dizzy since this morning")
        drain()
    with at(minutes=24, seconds=59):
        drain()
    assert not EscalationTask.objects.exists()
    with at(minutes=25, seconds=1):
        drain()
    task = EscalationTask.objects.get()
    assert (task.severity, task.reason_codes, task.source_key) == ("MODERATE", ["PATIENT_REPLY"], f"reply:{message.pk}")
    assert task.interaction_id == message.interaction_id
    message.refresh_from_db()
    assert message.handled_how == "NURSE_TASK"
    # The nurse's task is the acting on the reply: no "not answered" call besides it.
    with at(hours=5):
        drain()
    assert OutreachAttempt.objects.get().status == "ANSWERED"
    assert EscalationTask.objects.count() == 1


@pytest.mark.parametrize(
    "text",
    ["I have CHEST PAIN again", "Tengo dolor de pécho", "i can\u2019t breathe well", "No puedo respirar!!"],
)
def test_a_red_flag_makes_the_review_task_high_at_once(text):
    episode = discharged_and_texted()
    with at(minutes=5):
        message = reply(episode.patient, text=text)
        drain()
        task = EscalationTask.objects.get()
    assert message.red_flag
    assert (task.severity, task.reason_codes, task.priority) == ("HIGH", ["PATIENT_REPLY_RED_FLAG"], "HIGH")


def test_the_red_flag_list_is_a_setting(settings):
    settings.REPLY_RED_FLAG_PHRASES = ["swollen ankles"]
    episode = discharged_and_texted()
    with at(minutes=5):
        reply(episode.patient, text="chest pain", sid="SM1")
        reply(episode.patient, text="My Swollen ankles hurt", sid="SM2")
        drain()
    assert list(PatientMessage.objects.order_by("seq").values_list("red_flag", flat=True)) == [False, True]
    assert EscalationTask.objects.get().reason_codes == ["PATIENT_REPLY_RED_FLAG"]


def test_the_no_answer_call_task_is_cancelled_only_after_someone_acted(settings):
    settings.REPLY_REVIEW_AFTER_MINUTES = 10 * 60  # nobody acts within the check-in's window
    episode = discharged_and_texted()
    with at(minutes=5):
        reply(episode.patient)
        drain()
    with at(hours=4, seconds=1):
        drain()
    assert OutreachAttempt.objects.get().status == "NO_ANSWER"
    assert EscalationTask.objects.get().action_type == "CALL_PATIENT_NO_ANSWER"


def test_messages_are_numbered_in_order_of_arrival():
    interaction = AgentInteractionFactory()
    first = reply(interaction.episode.patient, sid="SM1")
    second = reply(interaction.episode.patient, sid="SM2")
    assert (first.seq, second.seq) == (1, 2)


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


def test_the_agents_flag_on_the_conversation_is_acting_on_the_reply():
    episode = discharged_and_texted()
    with at(minutes=5):
        message = reply(episode.patient)
        interaction_flag_raise(
            interaction=message.interaction,
            severity="MODERATE",
            reason_codes=["DIZZINESS"],
            action_type="NURSE_CALLBACK_24H",
        )
    message.refresh_from_db()
    assert message.handled_how == "NURSE_TASK"
    assert OutreachAttempt.objects.get().status == "ANSWERED"
    assert Timer.objects.get(kind="REPLY_REVIEW").cancelled_at is not None
