"""A nurse's worklist: her own open tasks (a charge nurse's: every open task), the nearest breach first."""

from typing import Any

from django.utils import timezone

from care_events.platform.audit.models import AuditAction
from tasks_app.screens.common import CareTeamView, task_row
from tasks_app.selectors import open_tasks_by_breach

# How often the worklist reloads itself (its countdowns tick every second in between).
WORKLIST_REFRESH_SECONDS = 60


class WorklistView(CareTeamView):
    """A nurse's own open tasks (a charge nurse's: every open task), the nearest breach first."""

    audit_read_action = AuditAction.ADMIN_LIST  # a page of many tasks
    permission = "tasks_app.view_escalationtask"
    template_name = "admin/tasks_app/worklist.html"

    def get_title(self) -> str:
        return "Open tasks" if self.request.user.has_perm("tasks_app.view_all_tasks") else "My tasks"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        now, user = timezone.now(), self.request.user
        rows = [task_row(task, user=user, now=now) for task in open_tasks_by_breach(user=user)]
        return super().get_context_data(
            rows=rows,
            sees_all=self.request.user.has_perm("tasks_app.view_all_tasks"),
            refresh_seconds=WORKLIST_REFRESH_SECONDS,
            **kwargs,
        )
