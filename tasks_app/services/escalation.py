"""What turns into an escalation task: a worrying answer, the agent's flag or hand-off, a check-in nobody answered."""

import datetime as dt
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from care_events.choices import Severity
from care_events.models import AgentInteraction, Episode, InteractionResponse
from care_events.platform.bus.dispatch import Actor, acting
from care_events.platform.errors import ConflictError
from care_events.services.interactions import OPEN_INTERACTION, interaction_escalate
from tasks_app.models import ActionType, EscalationTask
from tasks_app.selectors import agent_raised_open_tasks
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


class EscalationRefusedError(ConflictError):
    """The agent's flag or hand-off is refused (409); `code` says why: the interaction is finished
    (`interaction_completed`, `interaction_abandoned`), or the open tasks the agent raised are at their cap
    (`interaction_task_limit`, `episode_task_limit`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


@transaction.atomic
def interaction_flag_raise(
    *,
    interaction: AgentInteraction,
    severity: str,
    reason_codes: list[str],
    action_type: str,
    actor: Actor = None,
) -> tuple[EscalationTask, bool]:
    """The agent raises a flag: a task for this interaction, with the SLA and priority the product sets for its
    severity and action (`task_create`). Returns (task, created).

    The agent is a program and can loop, and every task is a nurse's call with a breach alert to every supervisor
    behind it, so what it may cause is bounded (docs/api.md#what-the-agent-may-cause):
    - a flag on a finished interaction is refused after AGENT_LATE_FLAG_GRACE_MINUTES (a finding the agent makes
      late goes on a new interaction);
    - the same action and reason codes as an open task of the episode raised within AGENT_FLAG_COALESCE_MINUTES,
      at the same severity or lower, is that task (created False): a repeat, not a second call;
    - the open tasks raised by the agent are capped per interaction and per episode.
    Tasks made from responses (one per response) and for unanswered check-ins are not the agent's flags and are
    not counted.
    """
    # Every flag and hand-off of the episode queues on this lock, so the duplicate and the caps are read from
    # committed rows: 25 flags sent at once create at most the cap, never 25. (No key update: it does not block
    # the rows that reference the episode.)
    Episode.objects.select_for_update(no_key=True).only("pk").get(pk=interaction.episode_id)
    interaction = AgentInteraction.objects.get(pk=interaction.pk)
    now = timezone.now()
    _refuse_when_finished(interaction, now=now)
    raised = agent_raised_open_tasks(episode_id=interaction.episode_id)
    duplicate = _duplicate(raised, severity=severity, reason_codes=reason_codes, action_type=action_type, now=now)
    if duplicate is not None:
        return duplicate, False
    if raised.filter(interaction=interaction).count() >= settings.AGENT_OPEN_TASKS_PER_INTERACTION:
        raise EscalationRefusedError(
            "interaction_task_limit",
            f"This interaction has {settings.AGENT_OPEN_TASKS_PER_INTERACTION} open flags and hand-offs, the most it "
            "may hold; a nurse has them. Another is accepted once one is resolved.",
        )
    if raised.count() >= settings.AGENT_OPEN_TASKS_PER_EPISODE:
        raise EscalationRefusedError(
            "episode_task_limit",
            f"This episode has {settings.AGENT_OPEN_TASKS_PER_EPISODE} open flags and hand-offs, the most it may "
            "hold; nurses have them. Another is accepted once one is resolved.",
        )
    with acting(actor):  # the task's and the interaction's events name who raised it
        task = _escalate(interaction, severity=severity, reason_codes=reason_codes, action_type=action_type)
    return task, True


@transaction.atomic
def interaction_handoff(
    *, interaction: AgentInteraction, reason: str, severity: str = Severity.CRITICAL, actor: Actor = None
) -> tuple[EscalationTask, bool]:
    """The agent hands the patient to a nurse now: an URGENT_HANDOFF task, priority URGENT, CRITICAL unless the
    agent grades it otherwise, with the severity's SLA (30 min for CRITICAL). Its assignment notifies the nurse
    with an URGENT_HANDOFF message on the urgent queue. `reason` is a reason code. A flag as any other for the
    limits above: a repeated hand-off with the same reason is the first one."""
    return interaction_flag_raise(
        interaction=interaction,
        severity=severity,
        reason_codes=[reason],
        action_type=ActionType.URGENT_HANDOFF,
        actor=actor,
    )


def _refuse_when_finished(interaction: AgentInteraction, *, now: dt.datetime) -> None:
    if interaction.status in OPEN_INTERACTION:
        return
    grace = settings.AGENT_LATE_FLAG_GRACE_MINUTES
    # An abandoned interaction has no completed_at: it ended when it was last changed.
    ended_at = interaction.completed_at or interaction.updated_at
    if now <= ended_at + dt.timedelta(minutes=grace):
        return  # the agent's last words after closing the conversation are still taken
    state = interaction.status.lower()
    raise EscalationRefusedError(
        f"interaction_{state}",
        f"This interaction was {state} more than {grace} minutes ago; start a new interaction for a new finding.",
    )


def _duplicate(
    raised: QuerySet[EscalationTask], *, severity: str, reason_codes: list[str], action_type: str, now: dt.datetime
) -> EscalationTask | None:
    """An open task the agent raised for the same action and reasons within the window, at least as severe (a
    finding graded more severe than the open task is news, and gets its own task)."""
    since = now - dt.timedelta(minutes=settings.AGENT_FLAG_COALESCE_MINUTES)
    reasons = sorted(set(reason_codes))
    candidates = raised.filter(action_type=action_type, created_at__gte=since).order_by("created_at")
    return next(
        (
            task
            for task in candidates
            if sorted(set(task.reason_codes)) == reasons and Severity.rank(task.severity) >= Severity.rank(severity)
        ),
        None,
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
        source_key=source_key,
    )
    interaction_escalate(
        interaction_id=interaction.pk, task_id=task.pk, severity=task.severity, response_id=response_id
    )
    return task
