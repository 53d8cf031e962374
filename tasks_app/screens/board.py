"""The charge nurse's board: what is about to breach, who holds what, what nobody holds, what went wrong."""

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils import timezone

from care_events.platform.audit.models import AuditAction
from care_events.platform.bus.health import stuck_run_count
from care_events.platform.bus.models import HandlerRun
from tasks_app.screens.bulk import ROUND_ROBIN_CHOICE, nurse_choices
from tasks_app.screens.common import task_row
from tasks_app.screens.lists import TaskListScreen
from tasks_app.screens.task_actions import nurse_choice_label
from tasks_app.selectors import (
    nurses_holding_open_tasks_off_shift,
    nurses_on_shift,
    tasks_breached_between,
    unassigned_causes,
)
from tasks_app.task_lists import TaskFilters, open_tasks_by_urgency, tasks_filtered

# The unassigned tasks the board lists under their causes; the rest are one filter away ("Nurse: nobody").
UNASSIGNED_SHOWN = 10


class BoardView(TaskListScreen):
    """The charge nurse's board: what is about to breach, who holds what, what nobody holds, what went wrong."""

    audit_read_action = AuditAction.ADMIN_LIST  # a page of many tasks
    permission = "tasks_app.view_all_tasks"
    template_name = "admin/tasks_app/board.html"
    fragment_template = "admin/tasks_app/_board_live.html"
    screen = "board"
    page_size = 30
    with_answers = False
    title = "Care team board"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        now, user = timezone.now(), self.request.user
        unassigned = tasks_filtered(
            open_tasks_by_urgency(user=user, now=now, with_answers=False),
            filters=TaskFilters(holder="unassigned"),
            user=user,
            now=now,
        )
        breaches = tasks_breached_between(since=now - dt.timedelta(hours=24), until=now)
        runs = reverse("admin:care_events_handlerrun_changelist")
        can_see_runs = user.has_perm("care_events.view_handlerrun")
        return super().get_context_data(
            unassigned=[task_row(t, user=user, now=now, with_answers=False) for t in unassigned[:UNASSIGNED_SHOWN]],
            unassigned_causes=unassigned_causes(now=now),
            on_shift=list(nurses_on_shift(now=now)),
            off_shift_holders=list(nurses_holding_open_tasks_off_shift(now=now)),
            can_move=user.has_perm("tasks_app.reassign_task"),
            can_acknowledge=user.has_perm("tasks_app.acknowledge_task"),
            nurse_options=[(nurse.pk, nurse_choice_label(nurse)) for nurse in nurse_choices()],
            round_robin_choice=ROUND_ROBIN_CHOICE,
            breaches=breaches[:20],
            breach_count=breaches.count(),
            # The service's own background jobs: for whoever runs the service (not in a nurse's menus or words).
            can_see_runs=can_see_runs,
            failed_runs=HandlerRun.objects.filter(status=HandlerRun.Status.FAILED).count() if can_see_runs else 0,
            stuck_runs=stuck_run_count(now) if can_see_runs else 0,
            failed_runs_url=f"{runs}?status__exact={HandlerRun.Status.FAILED}",
            pending_runs_url=f"{runs}?status__exact={HandlerRun.Status.PENDING}",
            **kwargs,
        )
