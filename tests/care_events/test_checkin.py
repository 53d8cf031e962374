"""The check-in workflow in-process: discharge → timer → plan, attempt and SMS → response or no answer."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from care_events.models import AgentInteraction, OutreachAttempt, OutreachPlan
from care_events.platform.bus.models import Timer
from care_events.services.episodes import episode_discharge
from care_events.services.interactions import interaction_complete, interaction_response_record, interaction_start
from notifications.backends import local
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask
from tests.care_events.factories import EpisodeFactory
from tests.helpers import drain, event_names
from tests.tasks_app.factories import NurseShiftFactory

pytestmark = pytest.mark.django_db

NOON_NEW_YORK = dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.CHECKIN_DELAY = 24 * 3600
    settings.CHECKIN_RESPONSE_WINDOW = 4 * 3600
    local.clear_outbox()


def discharged_episode(**kwargs):
    episode = EpisodeFactory(discharged_at=None, admitted_at=NOON_NEW_YORK - dt.timedelta(days=3), **kwargs)
    episode_discharge(episode=episode, discharged_at=NOON_NEW_YORK)
    drain()
    return episode


def test_discharge_schedules_one_checkin_24_hours_later():
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        episode = discharged_episode()
        timer = Timer.objects.get(kind="CHECKIN_DUE", subject_id=episode.pk)
        assert timer.due_at == NOON_NEW_YORK + dt.timedelta(days=1)
        assert not OutreachPlan.objects.exists()  # nothing is sent before it is due
        # A repeated discharge of the same episode schedules nothing new.
        episode_discharge(episode=episode)
        drain()
    assert Timer.objects.filter(kind="CHECKIN_DUE").count() == 1
    assert event_names().count("patient/discharged") == 1


def test_a_discharge_before_admission_is_refused():
    episode = EpisodeFactory(discharged_at=None, admitted_at=NOON_NEW_YORK)
    with pytest.raises(ValidationError):
        episode_discharge(episode=episode, discharged_at=NOON_NEW_YORK - dt.timedelta(days=1))


def test_when_due_the_plan_attempt_and_sms_are_created_once():
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        episode = discharged_episode(patient__preferred_language="es")
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, seconds=1), tick=False):
        drain()
        drain()
    plan = OutreachPlan.objects.get(episode=episode)
    attempt = OutreachAttempt.objects.get(plan=plan)
    assert (plan.status, attempt.status, attempt.attempt_number) == ("ACTIVE", "SENT", 1)
    log = NotificationLog.objects.get(type="CHECKIN")
    assert (log.recipient_patient_id, log.status, log.provider) == (episode.patient_id, "DELIVERED", "local")
    assert "¿Cómo se siente" in log.body
    assert [m.to for m in local.outbox] == [episode.patient.phone]
    assert "checkin/scheduled" in event_names()


def test_the_checkin_names_the_facility_by_its_vetted_name(settings):
    settings.CARE_FACILITIES = {"STMARY": "St Mary Cardiology"}
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        discharged_episode(facility="STMARY")
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, seconds=1), tick=False):
        drain()

    assert NotificationLog.objects.get(type="CHECKIN").body.startswith(
        "Hello from your care team at St Mary Cardiology."
    )


def test_a_patient_who_opted_out_gets_no_sms_and_a_nurse_calls_instead():
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        episode = discharged_episode(patient__sms_consent=False)
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, seconds=1), tick=False):
        drain()
    assert local.outbox == []
    assert OutreachAttempt.objects.get().status == "CANCELLED"
    task = EscalationTask.objects.get(episode=episode)
    assert (task.action_type, task.reason_codes) == ("CALL_PATIENT_NO_ANSWER", ["SMS_OPT_OUT"])


def test_no_answer_within_the_window_makes_exactly_one_call_task():
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        episode = discharged_episode()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, seconds=1), tick=False):
        drain()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, hours=4, seconds=2), tick=False):
        drain()
        drain()
    task = EscalationTask.objects.get(episode=episode)
    assert (task.action_type, task.severity, task.sla_minutes) == ("CALL_PATIENT_NO_ANSWER", "MODERATE", 480)
    assert OutreachAttempt.objects.get().status == "NO_ANSWER"
    assert event_names().count("checkin/no_answer") == 1


def test_an_answer_in_time_cancels_the_no_answer_task():
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        episode = discharged_episode()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, seconds=1), tick=False):
        drain()
        attempt = OutreachAttempt.objects.get()
        interaction = interaction_start(episode=episode, outreach_attempt=attempt)
        interaction_response_record(interaction=interaction, text="I feel fine", severity="LOW", reason_codes=[])
        drain()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, hours=5), tick=False):
        drain()
    assert not EscalationTask.objects.exists()
    attempt.refresh_from_db()
    assert attempt.status == "ANSWERED"
    assert Timer.objects.get(kind="CHECKIN_NO_ANSWER").cancelled_at is not None
    assert "checkin/no_answer" not in event_names()


@pytest.mark.parametrize(("severity", "sla"), [("MODERATE", 480), ("HIGH", 120), ("CRITICAL", 30)])
def test_a_worrying_response_escalates_to_one_assigned_task(severity, sla):
    nurse = NurseShiftFactory().nurse
    interaction = interaction_start(episode=EpisodeFactory())
    response = interaction_response_record(
        interaction=interaction, text="My ankles are swollen", severity=severity, reason_codes=["HF_SWELLING"]
    )
    drain()
    drain()
    task = EscalationTask.objects.get()
    assert (task.severity, task.sla_minutes, task.reason_codes) == (severity, sla, ["HF_SWELLING"])
    assert (task.status, task.assigned_to_id, task.source_key) == ("ASSIGNED", nurse.pk, f"response:{response.pk}")
    interaction.refresh_from_db()
    assert (interaction.status, interaction.severity) == ("ESCALATED", severity)
    names = event_names()
    for name in ["interaction/response_received", "interaction/escalated", "task/created", "task/assigned"]:
        assert names.count(name) == 1, name


def test_a_low_severity_response_creates_no_task():
    interaction = interaction_start(episode=EpisodeFactory())
    interaction_response_record(interaction=interaction, text="All good", severity="LOW", reason_codes=[])
    drain()
    assert not EscalationTask.objects.exists()
    assert "interaction/escalated" not in event_names()


def test_completing_a_checkin_emits_checkin_completed_once():
    interaction = interaction_start(episode=EpisodeFactory())
    interaction_complete(interaction=interaction, outcome="REACHED", summary="Doing well")
    interaction_complete(interaction=interaction, outcome="REACHED")
    interaction.refresh_from_db()
    assert interaction.status == AgentInteraction.Status.COMPLETED
    assert interaction.completed_at <= timezone.now()
    assert event_names().count("checkin/completed") == 1
    with pytest.raises(ValidationError):
        interaction_response_record(interaction=interaction, text="late", severity="LOW", reason_codes=[])


def test_an_attempt_of_another_episode_is_refused():
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        discharged_episode()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, seconds=1), tick=False):
        drain()
    with pytest.raises(ValidationError) as excinfo:
        interaction_start(episode=EpisodeFactory(), outreach_attempt=OutreachAttempt.objects.get())
    assert "outreach_attempt_id" in excinfo.value.message_dict


# --- An interaction started after the discharge means the patient was reached --------------------------------


def test_an_interaction_after_discharge_cancels_the_checkin_not_yet_sent():
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        episode = discharged_episode()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(hours=3), tick=False):
        interaction_start(episode=episode)
        drain()
    # Past the check-in and past its response window: nothing was due any more.
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, seconds=1), tick=False):
        drain()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, hours=5), tick=False):
        drain()
    assert local.outbox == []
    assert not NotificationLog.objects.exists()
    assert Timer.objects.get(kind="CHECKIN_DUE", subject_id=episode.pk).cancelled_at is not None
    assert not OutreachPlan.objects.exists()
    assert not EscalationTask.objects.exists()
    assert "checkin/scheduled" not in event_names()


def test_an_interaction_after_the_checkin_sms_cancels_the_no_answer_call():
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        episode = discharged_episode()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, seconds=1), tick=False):
        drain()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, hours=1), tick=False):
        interaction_start(episode=episode)  # the agent reached the patient, without a response yet
        drain()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, hours=5), tick=False):
        drain()
    assert [m.to for m in local.outbox] == [episode.patient.phone]  # the check-in itself, once
    assert list(NotificationLog.objects.values_list("type", flat=True)) == ["CHECKIN"]
    attempt = OutreachAttempt.objects.get()
    assert (attempt.status, attempt.answered_at) == ("ANSWERED", NOON_NEW_YORK + dt.timedelta(days=1, hours=1))
    assert Timer.objects.get(kind="CHECKIN_NO_ANSWER").cancelled_at is not None
    assert not EscalationTask.objects.exists()
    assert "checkin/no_answer" not in event_names()


def test_an_interaction_before_the_checkin_is_scheduled_still_cancels_it():
    """The agent talks with the patient right at the discharge, before `schedule-checkin` has run."""
    episode = EpisodeFactory(discharged_at=None, admitted_at=NOON_NEW_YORK - dt.timedelta(days=3))
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        episode_discharge(episode=episode, discharged_at=NOON_NEW_YORK)
        interaction_start(episode=episode)
        drain()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, hours=5), tick=False):
        drain()
    assert not Timer.objects.filter(kind="CHECKIN_DUE").exists()
    assert local.outbox == []
    assert not EscalationTask.objects.exists()


def test_an_interaction_before_the_discharge_leaves_the_checkin():
    episode = EpisodeFactory(discharged_at=None, admitted_at=NOON_NEW_YORK - dt.timedelta(days=3))
    with time_machine.travel(NOON_NEW_YORK - dt.timedelta(hours=2), tick=False):
        interaction_start(episode=episode)  # during the stay
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        episode_discharge(episode=episode, discharged_at=NOON_NEW_YORK)
        drain()
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, seconds=1), tick=False):
        drain()
    assert [m.to for m in local.outbox] == [episode.patient.phone]
    assert OutreachAttempt.objects.get().status == "SENT"
