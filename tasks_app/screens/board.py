"""The charge nurse's board: what is about to breach, who holds what, what nobody holds, what went wrong."""

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils import timezone

from care_events.platform.audit.models import AuditAction
from care_events.platform.bus.health import stuck_run_count
from care_events.platform.bus.models import HandlerRun
from tasks_app.care_team import SlaState, care_team_time
from tasks_app.screens.bulk import ROUND_ROBIN_CHOICE, nurse_choices
from tasks_app.screens.common import CareTeamView, task_row
from tasks_app.screens.task_actions import nurse_choice_label
from tasks_app.selectors import (
    nurses_holding_open_tasks_off_shift,
    nurses_on_shift,
    open_tasks_by_breach,
    tasks_breached_between,
    unassigned_causes,
)

# How often the board reloads itself (its countdowns tick every second in between).
BOARD_REFRESH_SECONDS = 30


class BoardView(CareTeamView):
    """The charge nurse's board: what is about to breach, who holds what, what nobody holds, what went wrong."""

    audit_read_action = AuditAction.ADMIN_LIST  # a page of many tasks
    permission = "tasks_app.view_all_tasks"
    template_name = "admin/tasks_app/board.html"
    title = "Care team board"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        now, user = timezone.now(), self.request.user
        rows = [task_row(task, user=user, now=now) for task in open_tasks_by_breach(user=user)]
        by_state = {state: [row for row in rows if row.state == state] for state in SlaState}
        on_shift = list(nurses_on_shift(now=now))
        breaches = tasks_breached_between(since=now - dt.timedelta(hours=24), until=now)
        runs = reverse("admin:care_events_handlerrun_changelist")
        return super().get_context_data(
            rows=rows,
            breached=by_state[SlaState.BREACHED],
            warning=by_state[SlaState.WARNING],
            on_time=by_state[SlaState.ON_TIME],
            unassigned=[row for row in rows if row.task.assigned_to_id is None],
            unassigned_causes=unassigned_causes(now=now),
            on_shift=on_shift,
            off_shift_holders=list(nurses_holding_open_tasks_off_shift(now=now)),
            can_move=user.has_perm("tasks_app.reassign_task"),
            can_acknowledge=user.has_perm("tasks_app.acknowledge_task"),
            nurse_options=[(nurse.pk, nurse_choice_label(nurse)) for nurse in nurse_choices()],
            round_robin_choice=ROUND_ROBIN_CHOICE,
            breaches=breaches[:20],
            breach_count=breaches.count(),
            failed_runs=HandlerRun.objects.filter(status=HandlerRun.Status.FAILED).count(),
            stuck_runs=stuck_run_count(now),
            failed_runs_url=f"{runs}?status__exact={HandlerRun.Status.FAILED}",
            pending_runs_url=f"{runs}?status__exact={HandlerRun.Status.PENDING}",
            can_see_runs=self.request.user.has_perm("care_events.view_handlerrun"),
            refresh_seconds=BOARD_REFRESH_SECONDS,
            updated_at=care_team_time(now),
            **kwargs,
        )
