"""The agent's flags and hand-offs in-process: the product's SLA and priority, the refusal of late flags, the caps and
the coalescing of repeats (tasks_app/services/escalation.py); the API's side is tests/api/test_agent_contract.py."""

import datetime as dt

import pytest
import time_machine

from care_events.services.interactions import interaction_complete
from tasks_app.models import EscalationTask
from tasks_app.services.escalation import (
    EscalationRefusedError,
    interaction_flag_raise,
    interaction_handoff,
    response_escalate,
)
from tasks_app.services.tasks import task_create, task_sla_and_priority
from tests.care_events.factories import AgentInteractionFactory, EpisodeFactory, InteractionResponseFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("severity", "action", "sla", "priority"),
    [
        # The severity table, kept: CRITICAL 30 min URGENT, HIGH 2 h HIGH, MODERATE 8 h NORMAL, LOW 24 h LOW.
        ("CRITICAL", "EMERGENCY_GUIDANCE", 30, "URGENT"),
        ("HIGH", "NURSE_CALLBACK_2H", 120, "HIGH"),
        ("MODERATE", "MEDICATION_REVIEW", 480, "NORMAL"),
        ("LOW", "SCHEDULE_FOLLOWUP", 1440, "LOW"),
        # An action that names its deadline shortens the severity's, never lengthens it.
        ("LOW", "NURSE_CALLBACK_2H", 120, "LOW"),
        ("CRITICAL", "NURSE_CALLBACK_24H", 30, "URGENT"),
        # A hand-off is urgent whatever the severity, with the severity's SLA.
        ("HIGH", "URGENT_HANDOFF", 120, "URGENT"),
        ("CRITICAL", "URGENT_HANDOFF", 30, "URGENT"),
    ],
)
def test_the_product_sets_sla_and_priority_from_severity_and_action(severity, action, sla, priority):
    assert task_sla_and_priority(severity=severity, action_type=action) == (sla, priority)


def test_no_sla_is_shorter_than_the_minimum(settings):
    settings.MIN_TASK_SLA_MINUTES = 45

    task, _ = interaction_handoff(interaction=AgentInteractionFactory(), reason="PATIENT_REQUEST")
    answer_task = task_create(episode=EpisodeFactory(), severity="CRITICAL", reason_codes=["AMI_CHEST_PAIN"])

    assert (task.sla_minutes, task.priority) == (45, "URGENT")
    assert task.sla_breach_at - task.created_at == pytest.approx(dt.timedelta(minutes=45), abs=dt.timedelta(seconds=1))
    assert answer_task.sla_minutes == 45


def test_a_flag_returns_whether_it_made_a_task():
    interaction = AgentInteractionFactory()
    finding = {"severity": "HIGH", "reason_codes": ["HF_SWELLING"], "action_type": "NURSE_CALLBACK_2H"}

    first, created = interaction_flag_raise(interaction=interaction, **finding)
    repeat, repeat_created = interaction_flag_raise(interaction=interaction, **finding)

    assert (created, repeat_created, repeat.pk) == (True, False, first.pk)
    assert EscalationTask.objects.count() == 1


def test_a_late_flag_is_refused_naming_the_state(settings):
    settings.AGENT_LATE_FLAG_GRACE_MINUTES = 5
    interaction = AgentInteractionFactory()
    with time_machine.travel(T0, tick=False):
        interaction_complete(interaction=interaction, outcome="PATIENT_OK")
    with time_machine.travel(T0 + dt.timedelta(minutes=6), tick=False), pytest.raises(EscalationRefusedError) as exc:
        interaction_handoff(interaction=interaction, reason="PATIENT_REQUEST")

    assert exc.value.code == "interaction_completed"
    assert not EscalationTask.objects.exists()


def test_worrying_answers_still_escalate_when_the_flags_are_at_their_cap(settings):
    """The caps bound the agent's own flags; an answer's task (one per response) is the clinical rule itself."""
    settings.AGENT_OPEN_TASKS_PER_INTERACTION = 1
    interaction = AgentInteractionFactory()
    interaction_flag_raise(
        interaction=interaction, severity="HIGH", reason_codes=["HF_SWELLING"], action_type="NURSE_CALLBACK_2H"
    )
    with pytest.raises(EscalationRefusedError):
        interaction_flag_raise(
            interaction=interaction, severity="HIGH", reason_codes=["HF_COUGH"], action_type="NURSE_CALLBACK_2H"
        )

    task = response_escalate(response_id=InteractionResponseFactory(interaction=interaction, severity="CRITICAL").pk)

    assert task is not None and task.severity == "CRITICAL"
    assert EscalationTask.objects.count() == 2
