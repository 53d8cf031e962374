"""A task's SLA: two timers from its creation, a warning at 75 % and a breach at 100 %; resolving or cancelling the
task cancels both (tasks_app.services.tasks)."""

import logging
import uuid

from care_events.choices import NotificationType
from care_events.notify import notification_request
from care_events.platform.bus.dispatch import emit
from care_events.platform.bus.models import TimerKind
from care_events.platform.bus.timers import timer_schedule
from tasks_app.models import EscalationTask
from tasks_app.notify import sla_key
from tasks_app.services.nurses import supervisors

logger = logging.getLogger(__name__)

# The timer kind of each stage, and the event and message it gives.
STAGES: dict[TimerKind, tuple[str, NotificationType]] = {
    TimerKind.SLA_WARNING: ("task/sla_warning", NotificationType.SLA_WARNING),
    TimerKind.SLA_BREACH: ("task/sla_breach", NotificationType.SLA_BREACH),
}


def sla_timers_schedule(*, task_id: uuid.UUID, task: EscalationTask | None = None) -> None:
    """Start the two SLA timers of an open task (a repeated call finds them: one timer per kind and task). `task`:
    the row, when the caller holds it (the creating transaction), so it is not read again."""
    if task is None or task.pk != task_id:
        task = EscalationTask.objects.get(pk=task_id)
    if task.is_open:
        timer_schedule(kind=TimerKind.SLA_WARNING, subject_id=task.pk, due_at=task.sla_warning_at)
        timer_schedule(kind=TimerKind.SLA_BREACH, subject_id=task.pk, due_at=task.sla_breach_at)


def sla_stage_reach(*, task_id: uuid.UUID, stage: TimerKind) -> None:
    """A task's SLA timer fired (inside the firing transaction). If the task is still open: the stage's event, for
    any subscriber, and the alerts. The warning goes to the assignee; the breach to the assignee and every
    supervisor, urgently. A task nobody holds sends both to the supervisors."""
    task = EscalationTask.objects.get(pk=task_id)
    if not task.is_open:
        return
    event_name, notification_type = STAGES[stage]
    emit(event_name, {"task_id": task.pk}, once_for=(task.pk,))
    breach = stage == TimerKind.SLA_BREACH
    recipients = {nurse.pk for nurse in supervisors(task.care_team)} if breach or task.assigned_to_id is None else set()
    if task.assigned_to_id is not None:
        recipients.add(task.assigned_to_id)
    if not recipients:
        logger.error("task %s reached %s with no one to alert: no assignee and no supervisor", task.pk, stage)
    for nurse_id in sorted(recipients):
        notification_request(
            notification_type=notification_type,
            recipient_nurse_id=nurse_id,
            task_id=task.pk,
            episode_id=task.episode_id,
            urgent=breach,
            dedupe_key=sla_key(stage=notification_type, task_id=task.pk, nurse_id=nurse_id),
        )
