"""The board's two hand-over marks on a task card (docs/handover.md): "held by someone off shift" until the sweep
moves the task, and "not acknowledged for N min" while its assignee has not acknowledged it."""

from typing import Any

from django import template
from django.utils import timezone

from tasks_app.models import EscalationTask, TaskStatus
from tasks_app.selectors import nurses_unable_to_hold

register = template.Library()


@register.inclusion_tag("admin/tasks_app/_handover_marks.html", takes_context=True)
def handover_marks(context: template.Context, task: EscalationTask) -> dict[str, Any]:
    now = timezone.now()
    # One query per page, not per card: the nurses who cannot hold tasks now, kept in the page's base context (each
    # card is an include, whose render_context is its own).
    cache = context.dicts[0]
    if "absent_nurse_ids" not in cache:
        cache["absent_nurse_ids"] = set(nurses_unable_to_hold(now).values_list("pk", flat=True))
    held_by_absent = task.assigned_to_id is not None and task.assigned_to_id in cache["absent_nurse_ids"]
    unacknowledged = None
    if task.status == TaskStatus.ASSIGNED and task.assigned_at is not None:
        unacknowledged = int((now - task.assigned_at).total_seconds() // 60)
    return {"held_by_absent": held_by_absent, "unacknowledged_minutes": unacknowledged}
