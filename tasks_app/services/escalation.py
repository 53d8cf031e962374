"""What turns into an escalation task: a worrying answer, the agent's flag or hand-off, a check-in nobody answered."""

import uuid

from django.db import transaction

from care_events.bus.dispatch import Actor, acting
from care_events.choices import Severity
from care_events.models import AgentInteraction, Episode, InteractionResponse
from care_events.services.interactions import interaction_escalate
from tasks_app.models import ActionType, EscalationTask, Priority
from tasks_app.services.tasks import task_create


@transaction.atomic
def response_escalate(*, response_id: uuid.UUID) -> EscalationTask | None:
    """A recorded answer of severity MODERATE, HIGH or CRITICAL escalates: one task per response (its source key),
    with the severity's defaults. A LOW answer changes nothing."""
    response = InteractionResponse.objects.select_related("interaction__episode").get(pk=response_id)
    if not Severity.escalates(response.severity):
        return None
    return _escalate(
        response.interaction,
        response_id=response.pk,
        severity=response.severity,
        reason_codes=response.reason_codes,
        source_key=f"response:{response.pk}",
    )


@transaction.atomic
def interaction_flag_raise(
    *,
    interaction: AgentInteraction,
    severity: str,
    reason_codes: list[str],
    action_type: str,
    priority: str | None = None,
    sla_minutes: int | None = None,
    actor: Actor = None,
) -> EscalationTask:
    """The agent raises a flag: a task for this interaction. No source key: two flags are two findings (a retried
    request is deduplicated by the API's Idempotency-Key). The task's and the interaction's events name `actor`."""
    with acting(actor):
        return _escalate(
            interaction,
            severity=severity,
            reason_codes=reason_codes,
            action_type=action_type,
            priority=priority,
            sla_minutes=sla_minutes,
        )


@transaction.atomic
def interaction_handoff(
    *, interaction: AgentInteraction, reason: str, severity: str = Severity.CRITICAL, actor: Actor = None
) -> EscalationTask:
    """The agent hands the patient to a nurse now: an URGENT_HANDOFF task of URGENT priority, CRITICAL unless
    the agent grades it otherwise, with the severity's SLA (30 min for CRITICAL). Its assignment notifies the
    nurse with an URGENT_HANDOFF message on the urgent queue. `reason` is a reason code."""
    return interaction_flag_raise(
        interaction=interaction,
        severity=severity,
        reason_codes=[reason],
        action_type=ActionType.URGENT_HANDOFF,
        priority=Priority.URGENT,
        actor=actor,
    )


def unreached_patient_task_create(
    *, episode_id: uuid.UUID, outreach_attempt_id: uuid.UUID | None, reason: str
) -> EscalationTask:
    """No answer to the check-in in time, or a patient who cannot be texted: a nurse calls. MODERATE, so within
    8 hours; one task per attempt."""
    return task_create(
        episode=Episode.objects.get(pk=episode_id),
        severity=Severity.MODERATE,
        reason_codes=["CHECKIN_NO_ANSWER" if reason == "NO_RESPONSE" else "SMS_OPT_OUT"],
        action_type=ActionType.CALL_PATIENT_NO_ANSWER,
        source_key=f"no-answer:{outreach_attempt_id or episode_id}",
    )


def _escalate(
    interaction: AgentInteraction,
    *,
    severity: str,
    reason_codes: list[str],
    response_id: uuid.UUID | None = None,
    action_type: str | None = None,
    priority: str | None = None,
    sla_minutes: int | None = None,
    source_key: str | None = None,
) -> EscalationTask:
    """A task for the interaction (assigned and timed through `task/created`), then the interaction is marked
    escalated and `interaction/escalated` emitted."""
    task = task_create(
        episode=interaction.episode,
        interaction=interaction,
        severity=severity,
        reason_codes=reason_codes,
        action_type=action_type,
        priority=priority,
        sla_minutes=sla_minutes,
        source_key=source_key,
    )
    interaction_escalate(
        interaction_id=interaction.pk, task_id=task.pk, severity=task.severity, response_id=response_id
    )
    return task
