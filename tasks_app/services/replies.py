"""A patient's own text that nobody acted on becomes a nurse's review task (docs/api.md#a-patients-text)."""

import uuid

from care_events.choices import Severity
from care_events.models import PatientMessage
from care_events.services.interactions import interaction_escalate
from tasks_app.models import EscalationTask
from tasks_app.services.tasks import task_create

REPLY_REASON = "PATIENT_REPLY"
RED_FLAG_REASON = "PATIENT_REPLY_RED_FLAG"


def reply_review_task_create(*, message_id: uuid.UUID) -> EscalationTask | None:
    """The REPLY_REVIEW timer fired: REPLY_REVIEW_AFTER_MINUTES after the text, or at once for a red flag. Nobody
    acted on it yet (a response, the interaction completed, the agent's mark, a task): a nurse reviews it,
    MODERATE; a red flag: HIGH, always; one task per message. Runs in the timer's transaction; the task counts as
    acting on the text (`interaction_escalate` marks it handled, and the "not answered" call is then not needed)."""
    message = PatientMessage.objects.select_for_update().select_related("interaction__episode").get(pk=message_id)
    # A red flag reaches a nurse whatever the agent did meanwhile; another text only when nobody acted on it.
    if message.handled_at is not None and not message.red_flag:
        return None
    interaction = message.interaction
    severity = Severity.HIGH if message.red_flag else Severity.MODERATE
    task = task_create(
        episode=interaction.episode,
        interaction=interaction,
        severity=severity,
        reason_codes=[RED_FLAG_REASON if message.red_flag else REPLY_REASON],
        source_key=f"reply:{message.pk}",
    )
    interaction_escalate(interaction_id=interaction.pk, task_id=task.pk, severity=task.severity)
    return task
