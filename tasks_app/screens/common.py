"""What the screens share: the view inside admin they all are, and an open task as they show it."""

import dataclasses
import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from django.views.generic import TemplateView

from care_events.models import Condition, InteractionResponse
from care_events.platform.audit.screens import AuditedScreen
from care_events.validators import phone_for_display
from tasks_app.care_team import SlaState, care_team_time, sla_state, time_left_label
from tasks_app.models import EscalationTask


class CareTeamView(AuditedScreen, TemplateView):
    """A screen inside admin (wrapped by `admin_site.admin_view`: a login, then `permission` or 403). Audited: every
    task the page shows (a TaskRow, or a task itself, in its context) is named in the request's audit row."""

    model_admin: admin.ModelAdmin | None = None
    permission = ""
    title = ""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(self.permission):
            # Said on the 403 page (tasks_app/templates/403.html), with a way back.
            raise PermissionDenied(f"“{self.title}” is not part of your role." if self.title else "")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        assert self.model_admin is not None
        return {
            **self.model_admin.admin_site.each_context(self.request),
            "opts": self.model_admin.model._meta,
            "title": self.get_title(),
            "care_team_zone": settings.CARE_TEAM_TIME_ZONE,
            "now": timezone.now(),
            **super().get_context_data(**kwargs),
        }

    def get_title(self) -> str:
        return self.title

    def audit_shown(self, context: dict[str, Any]) -> list[EscalationTask]:
        return list(_tasks_in(context.values()))


def _tasks_in(values: Any) -> Any:
    """The tasks among `values`, also inside lists, tuples and querysets (a page's rows, a bulk page's outcomes)."""
    for value in values:
        if isinstance(value, TaskRow):
            yield value.task
        elif isinstance(value, EscalationTask):
            yield value
        elif isinstance(value, list | tuple | QuerySet):
            yield from _tasks_in(value)


# --- What a task shows ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Answer:
    response: InteractionResponse
    caused_task: bool


@dataclasses.dataclass
class TaskRow:
    """An open task as the screens show it: SLA state, the patient, what the patient said, what one may do."""

    task: EscalationTask
    state: SlaState
    time_left: str
    patient_name: str
    patient_age: int
    patient_phone: str
    condition: str
    answers: list[Answer]
    can_acknowledge: bool
    can_resolve: bool
    can_reassign: bool
    can_cancel: bool

    @property
    def breach_local(self) -> dt.datetime:
        return care_team_time(self.task.sla_breach_at)


def _age(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def task_row(task: EscalationTask, *, user: Any, now: dt.datetime, with_answers: bool = True) -> TaskRow:
    """`with_answers=False`: a list that does not show what the patient said (the board) need not load it."""
    patient = task.patient
    answers = []
    if with_answers and task.interaction_id is not None and task.interaction is not None:
        cause = task.source_key.removeprefix("response:") if task.source_key else None
        answers = [
            Answer(response=response, caused_task=str(response.pk) == cause)
            for response in task.interaction.responses.all()
        ]
    assigned = task.status in (EscalationTask.Status.ASSIGNED, EscalationTask.Status.ACKNOWLEDGED)
    return TaskRow(
        task=task,
        state=sla_state(breach_at=task.sla_breach_at, sla_minutes=task.sla_minutes, now=now),
        time_left=time_left_label(breach_at=task.sla_breach_at, now=now),
        patient_name=f"{patient.first_name} {patient.last_name}",
        patient_age=_age(patient.date_of_birth, care_team_time(now).date()),
        patient_phone=phone_for_display(patient.phone),
        condition=Condition(task.episode.condition).label,
        answers=answers,
        can_acknowledge=task.status == EscalationTask.Status.ASSIGNED and user.has_perm("tasks_app.acknowledge_task"),
        can_resolve=assigned and user.has_perm("tasks_app.resolve_task"),
        can_reassign=user.has_perm("tasks_app.reassign_task"),
        can_cancel=user.has_perm("tasks_app.cancel_task"),
    )
