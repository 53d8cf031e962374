"""The care team's screens inside Django admin: a nurse's worklist, the task actions, the charge nurse's board and
the shift roster (docs/screens.md).

Every screen asks `request.user.has_perm(...)` for a role's permission (care_events/platform/roles.py), never
`is_staff` (which
only lets a person into admin); which tasks a user reaches is `tasks_visible_in_admin`'s job, so another nurse's
task is a 404. Every action goes through the task services (tasks_app/services/tasks.py), which record the events,
cancel or keep the SLA timers and notify, and is written to admin's log (LogEntry) by the ModelAdmin.
"""

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import TemplateView

from care_events.models import Condition, InteractionResponse
from care_events.platform.bus.health import stuck_run_count
from care_events.platform.bus.models import HandlerRun
from care_events.validators import phone_for_display
from tasks_app.care_team import SlaState, care_team_time, care_team_zone, sla_state, time_left_label
from tasks_app.models import EscalationTask, Nurse
from tasks_app.selectors import (
    nurse_list_with_workload,
    nurses_on_shift,
    open_tasks_by_breach,
    shifts_overlapping,
    tasks_breached_between,
    tasks_visible_in_admin,
)
from tasks_app.services.tasks import TaskStateError, task_acknowledge, task_cancel, task_reassign, task_resolve

# How often the board and the worklist reload themselves (their countdowns tick every second in between).
BOARD_REFRESH_SECONDS = 30
WORKLIST_REFRESH_SECONDS = 60


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


def task_row(task: EscalationTask, *, user: Any, now: dt.datetime) -> TaskRow:
    patient = task.patient
    answers = []
    if task.interaction is not None:
        cause = task.source_key.removeprefix("response:") if task.source_key else None
        answers = [
            Answer(response=response, caused_task=str(response.pk) == cause)
            for response in task.interaction.responses.all()
        ]
    assigned = task.status in (EscalationTask.Status.ASSIGNED, EscalationTask.Status.ACKNOWLEDGED)
    return TaskRow(
        task=task,
        state=sla_state(warning_at=task.sla_warning_at, breach_at=task.sla_breach_at, now=now),
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


# --- Screens -------------------------------------------------------------------------------------------------


class CareTeamView(TemplateView):
    """A screen inside admin (wrapped by `admin_site.admin_view`: a login, then `permission` or 403)."""

    model_admin: admin.ModelAdmin | None = None
    permission = ""
    title = ""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(self.permission):
            raise PermissionDenied
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


class WorklistView(CareTeamView):
    """A nurse's own open tasks (a charge nurse's: every open task), the nearest breach first."""

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


class BoardView(CareTeamView):
    """The charge nurse's board: what is about to breach, who holds what, what nobody holds, what went wrong."""

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
            on_shift=on_shift,
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


# --- Task actions --------------------------------------------------------------------------------------------


class AcknowledgeForm(forms.Form):
    pass


class ResolveForm(forms.Form):
    note = forms.CharField(
        label="What did you do?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Kept on the task, e.g. “Called the patient; diuretic dose adjusted with the cardiologist.”",
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Why is no action needed?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="E.g. “Duplicate of another task for the same call.”",
    )


class NurseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, nurse: Nurse) -> str:  # type: ignore[override]
        where = "on shift" if nurse.on_shift_now else "off shift"  # type: ignore[attr-defined]
        load = f"{nurse.open_task_count} of {nurse.max_open_tasks} tasks"  # type: ignore[attr-defined]
        return f"{nurse} ({where}, {load})"


class ReassignForm(forms.Form):
    nurse = NurseChoiceField(
        queryset=Nurse.objects.none(),
        required=False,
        empty_label="The next nurse on shift (round-robin, not the current one)",
        label="Give the task to",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["nurse"].queryset = nurse_list_with_workload().filter(is_active=True)  # type: ignore[attr-defined]


class TaskActionView(CareTeamView):
    """One move of a task: a page that shows the task and asks to confirm (GET), then the service (POST).

    A task the user does not reach is a 404; a closed task or a move the service refuses (TaskStateError) is said
    on the page and changes nothing. Success goes back to `next` (the worklist or the board)."""

    template_name = "admin/tasks_app/task_action.html"
    form_class: type[forms.Form] = AcknowledgeForm
    verb = ""
    button = ""
    danger = False

    def get_task(self) -> EscalationTask:
        visible = tasks_visible_in_admin(user=self.request.user).select_related(
            "patient", "episode", "interaction", "assigned_to__user"
        )
        return get_object_or_404(visible.prefetch_related("interaction__responses"), pk=self.kwargs["task_id"])

    def next_url(self) -> str:
        candidate = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if url_has_allowed_host_and_scheme(candidate, allowed_hosts={self.request.get_host()}):
            return candidate
        return reverse("admin:tasks_app_escalationtask_worklist")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        task = self.get_task()
        if not task.is_open:
            messages.warning(request, f"This task is {task.get_status_display().lower()} already.")
            return redirect(self.next_url())
        return self.render_to_response(self.get_context_data(task=task, form=self.make_form(None)))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        task = self.get_task()
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                message = self.perform(task, form.cleaned_data)
            except TaskStateError as refused:
                form.add_error(None, str(refused))
            else:
                assert self.model_admin is not None
                self.model_admin.log_change(request, task, message)
                # Without the patient's name: messages may travel in a cookie.
                messages.success(request, message)
                return HttpResponseRedirect(self.next_url())
        return self.render_to_response(self.get_context_data(task=task, form=form), status=400)

    def make_form(self, data: Any) -> forms.Form:
        return self.form_class(data)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        task = kwargs["task"]
        return super().get_context_data(
            title=f"{self.verb} the task of {self._patient(task)}",
            row=task_row(task, user=self.request.user, now=timezone.now()),
            verb=self.verb,
            button=self.button,
            danger=self.danger,
            next=self.next_url(),
            **kwargs,
        )

    def perform(self, task: EscalationTask, data: dict[str, Any]) -> str:
        """Run the service; return what was done, for the log and the message (no PHI: no free text)."""
        raise NotImplementedError

    @staticmethod
    def _patient(task: EscalationTask) -> str:
        return f"{task.patient.first_name} {task.patient.last_name}"


class AcknowledgeView(TaskActionView):
    permission = "tasks_app.acknowledge_task"
    verb, button = "Acknowledge", "Acknowledge: I am on it"

    def perform(self, task: EscalationTask, data: dict[str, Any]) -> str:
        user = self.request.user
        # A charge nurse acknowledges for the assignee (nurse=None); a nurse, who reaches only her own tasks, as
        # herself. The event names who acted either way.
        acting_nurse = None if user.has_perm("tasks_app.view_all_tasks") else getattr(user, "nurse", None)
        task_acknowledge(task=task, nurse=acting_nurse, actor=self.request.user)
        return "Acknowledged."


class ResolveView(TaskActionView):
    permission = "tasks_app.resolve_task"
    form_class = ResolveForm
    verb, button = "Resolve", "Resolve the task"

    def perform(self, task: EscalationTask, data: dict[str, Any]) -> str:
        task_resolve(task=task, resolution=data["note"], actor=self.request.user)
        return "Resolved with a note."


class CancelView(TaskActionView):
    permission = "tasks_app.cancel_task"
    form_class = CancelForm
    verb, button, danger = "Cancel", "Cancel the task: no action needed", True

    def perform(self, task: EscalationTask, data: dict[str, Any]) -> str:
        task_cancel(task=task, reason=data["reason"], actor=self.request.user)
        return "Cancelled: no action needed."


class ReassignView(TaskActionView):
    permission = "tasks_app.reassign_task"
    form_class = ReassignForm
    verb, button = "Reassign", "Reassign"

    def perform(self, task: EscalationTask, data: dict[str, Any]) -> str:
        before = task.assigned_to
        task = task_reassign(task=task, nurse=data["nurse"], actor=self.request.user)
        if task.assigned_to is None:
            return f"Taken from {before or 'nobody'}; nobody else on shift has room, so it waits unassigned."
        return f"Reassigned from {before or 'nobody'} to {task.assigned_to}."


# --- The roster ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ShiftLabel:
    text: str
    url: str


@dataclasses.dataclass
class Gap:
    label: str
    add_url: str


@dataclasses.dataclass
class Day:
    date: dt.date
    is_today: bool
    hours: list[bool]  # hour by hour: someone on shift for the whole hour
    gaps: list[Gap]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=care_team_zone())


def _merge(intervals: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _uncovered(
    span: tuple[dt.datetime, dt.datetime], covered: list[tuple[dt.datetime, dt.datetime]]
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The parts of `span` no interval of `covered` (merged, sorted) reaches."""
    cursor, end = span
    for start, stop in covered:
        if stop <= cursor or start >= end:
            continue
        if start > cursor:
            yield cursor, start
        cursor = max(cursor, stop)
    if cursor < end:
        yield cursor, end


class RosterView(CareTeamView):
    """A week of shifts: a row per nurse, a column per day (in the care team's zone), and the hours nobody is on
    shift, each with a link to add a shift for it."""

    permission = "tasks_app.view_nurseshift"
    template_name = "admin/tasks_app/roster.html"
    title = "Shift roster"

    def week_start(self) -> dt.date:
        today = care_team_time(timezone.now()).date()
        try:
            asked = dt.date.fromisoformat(self.request.GET.get("week", ""))
        except ValueError:
            asked = today
        return asked - dt.timedelta(days=asked.weekday())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        monday = self.week_start()
        dates = [monday + dt.timedelta(days=offset) for offset in range(7)]
        begins, ends = _midnight(dates[0]), _midnight(dates[-1] + dt.timedelta(days=1))
        shifts = list(shifts_overlapping(starts=begins, ends=ends))
        covered = _merge([(s.starts_at, s.ends_at) for s in shifts if s.nurse.is_active])
        can_add = self.request.user.has_perm("tasks_app.add_nurseshift")
        can_change = self.request.user.has_perm("tasks_app.change_nurseshift")
        today = care_team_time(timezone.now()).date()

        rows: dict[Nurse, list[list[ShiftLabel]]] = {
            nurse: [[] for _ in dates] for nurse in Nurse.objects.filter(is_active=True).select_related("user")
        }
        for shift in shifts:
            start, end = care_team_time(shift.starts_at), care_team_time(shift.ends_at)
            column = max(0, (start.date() - monday).days)
            if start < begins:
                text = f"until {end:%H:%M}"
            elif end.date() != start.date() and end != _midnight(start.date() + dt.timedelta(days=1)):
                text = f"{start:%H:%M}-{end:%H:%M} next day"
            else:
                text = f"{start:%H:%M}-{end:%H:%M}"
            url = reverse("admin:tasks_app_nurseshift_change", args=[shift.pk]) if can_change else ""
            rows.setdefault(shift.nurse, [[] for _ in dates])[column].append(ShiftLabel(text=text, url=url))

        days = []
        for date in dates:
            hours = []
            for hour in range(24):
                slot_start = _midnight(date) + dt.timedelta(hours=hour)
                slot = (slot_start, slot_start + dt.timedelta(hours=1))
                hours.append(not any(True for _ in _uncovered(slot, covered)))
            gaps = [
                Gap(label=_gap_label(start, end), add_url=_add_shift_url(start, end) if can_add else "")
                for start, end in _uncovered((_midnight(date), _midnight(date + dt.timedelta(days=1))), covered)
            ]
            days.append(Day(date=date, is_today=date == today, hours=hours, gaps=gaps))

        return super().get_context_data(
            days=days,
            rows=[(nurse, cells) for nurse, cells in sorted(rows.items(), key=lambda item: str(item[0]))],
            previous_week=f"?week={monday - dt.timedelta(days=7)}",
            next_week=f"?week={monday + dt.timedelta(days=7)}",
            this_week=f"?week={today - dt.timedelta(days=today.weekday())}",
            monday=monday,
            sunday=dates[-1],
            hour_marks=range(0, 24, 6),
            can_add=can_add,
            add_url=reverse("admin:tasks_app_nurseshift_add") if can_add else "",
            **kwargs,
        )


def _gap_label(start: dt.datetime, end: dt.datetime) -> str:
    start, end = care_team_time(start), care_team_time(end)
    return f"{start:%H:%M}-{'24:00' if end.time() == dt.time.min else f'{end:%H:%M}'}"


def _add_shift_url(start: dt.datetime, end: dt.datetime) -> str:
    """The add-shift page with the gap's times filled in (NurseShiftAdmin reads them in the care team's zone)."""
    start, end = care_team_time(start), care_team_time(end)
    return f"{reverse('admin:tasks_app_nurseshift_add')}?starts_at={start:%Y-%m-%dT%H:%M}&ends_at={end:%Y-%m-%dT%H:%M}"


def care_team_home(request: HttpRequest) -> HttpResponse:
    """The site's root: a charge nurse's board, a nurse's worklist, anyone else admin's home; admin's login first."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if request.user.has_perm("tasks_app.view_all_tasks"):
        return redirect("admin:tasks_app_escalationtask_board")
    if request.user.has_perm("tasks_app.view_escalationtask"):
        return redirect("admin:tasks_app_escalationtask_worklist")
    return redirect("admin:index")
