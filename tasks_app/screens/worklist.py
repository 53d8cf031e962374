"""A nurse's worklist: her own open tasks (a charge nurse's: every open task), the most urgent first."""

from typing import Any

from care_events.platform.audit.models import AuditAction
from tasks_app.screens.lists import TaskListScreen


class WorklistView(TaskListScreen):
    """A nurse's own open tasks (a charge nurse's: every open task), the most urgent first."""

    audit_read_action = AuditAction.ADMIN_LIST  # a page of many tasks
    permission = "tasks_app.view_escalationtask"
    template_name = "admin/tasks_app/worklist.html"
    fragment_template = "admin/tasks_app/_worklist_live.html"
    screen = "worklist"
    page_size = 10

    def get_title(self) -> str:
        return "Open tasks" if self.sees_all() else "My tasks"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(sees_all=self.sees_all(), **kwargs)
