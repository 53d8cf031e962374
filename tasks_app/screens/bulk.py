"""The charge nurse's moves on many tasks from the board: assign or reassign the selected tasks (to a nurse, or each
to the next nurse on shift by round-robin), acknowledge them, and hand over all of one nurse's tasks.

Each runs the bulk services (tasks_app/services/bulk.py: a transaction per task) and writes each task's move to
admin's log. All done: back to the board, each outcome in a message (nurses and SLA only: messages may travel in a
cookie). Anything not done: a page that lists every selected task with its outcome in words, and, for the tasks
refused only because the nurse is at her limit, a second submit with an explicit over-limit confirmation."""

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone

from tasks_app.models import OPEN_TASK_STATUSES, EscalationTask, Nurse
from tasks_app.screens.common import CareTeamView, task_row
from tasks_app.screens.task_actions import NurseChoiceField
from tasks_app.selectors import nurse_list_with_workload
from tasks_app.services.bulk import TaskOutcome, nurse_tasks_hand_over, tasks_acknowledge_each, tasks_reassign_each

ROUND_ROBIN_CHOICE = "The next nurse on shift whose turn it is"
OVER_LIMIT_LABEL = "Yes, give them to her over her limit"
RESULT_TEMPLATE = "admin/tasks_app/bulk_result.html"


def nurse_choices() -> Any:
    return nurse_list_with_workload().filter(is_active=True)


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[("assign", "Assign"), ("acknowledge", "Acknowledge")])
    task = forms.TypedMultipleChoiceField(
        coerce=uuid.UUID, error_messages={"required": "Select at least one task (tick its box)."}
    )
    nurse = NurseChoiceField(
        queryset=Nurse.objects.none(),
        required=False,
        empty_label=ROUND_ROBIN_CHOICE,
        label="Give the selected tasks to",
    )
    over_limit = forms.BooleanField(required=False, label=OVER_LIMIT_LABEL)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["nurse"].queryset = nurse_choices()  # type: ignore[attr-defined]
        # Any id is accepted here: a task closed or gone meanwhile is reported by the service, per task.
        self.fields["task"].choices = [(value, value) for value in self.data.getlist("task")] if self.data else []  # type: ignore[attr-defined]


class HandOverForm(forms.Form):
    to_nurse = NurseChoiceField(
        queryset=Nurse.objects.none(),
        required=False,
        empty_label="The next nurses on shift, each task to whoever's turn it is",
        label="Give her tasks to",
    )

    def __init__(self, *args: Any, holder: Nurse, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_nurse"].queryset = nurse_choices().exclude(pk=holder.pk)  # type: ignore[attr-defined]


class OutcomeScreen(CareTeamView):
    """Shared by the bulk screens: log what was done, then back to the board or the page of outcomes."""

    template_name = RESULT_TEMPLATE
    permission = "tasks_app.reassign_task"
    title = "Selected tasks"

    def board_url(self) -> str:
        return reverse("admin:tasks_app_escalationtask_board")

    def report(self, outcomes: list[TaskOutcome], *, nurse: Nurse | None, action: str) -> HttpResponse:
        assert self.model_admin is not None
        tasks = EscalationTask.objects.select_related("patient", "episode", "assigned_to__user").in_bulk(
            [outcome.task_id for outcome in outcomes]
        )
        for outcome in outcomes:
            if outcome.done:
                self.model_admin.log_change(self.request, tasks[outcome.task_id], outcome.words)
        if all(outcome.done for outcome in outcomes):
            for outcome in outcomes:
                messages.success(self.request, outcome.words)
            return HttpResponseRedirect(f"{self.board_url()}#open-tasks")
        now = timezone.now()
        lines = [(outcome, tasks.get(outcome.task_id)) for outcome in outcomes]
        confirm = [outcome.task_id for outcome in outcomes if outcome.needs_confirmation]
        return self.response_class(
            request=self.request,
            template=[RESULT_TEMPLATE],
            context=self.get_context_data(
                lines=[
                    (outcome, task_row(task, user=self.request.user, now=now) if task else None)
                    for outcome, task in lines
                ],
                done_count=sum(outcome.done for outcome in outcomes),
                confirm_ids=confirm,
                confirm_nurse=nurse,
                over_limit_label=OVER_LIMIT_LABEL,
                action=action,
                board_url=self.board_url(),
                title=_outcomes_title(outcomes, confirming=len(confirm)),
            ),
        )


class BulkTasksView(OutcomeScreen):
    """POST from the board: the selected tasks, an action (assign or acknowledge), a nurse (none: round-robin)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return redirect(self.board_url())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = BulkForm(request.POST)
        if not form.is_valid():
            for field, errors in form.errors.items():
                words = " ".join(str(error) for error in errors)
                messages.error(request, words if field == "task" else f"{form[field].label or field}: {words}")
            return redirect(f"{self.board_url()}#open-tasks")
        data = form.cleaned_data
        if data["action"] == "acknowledge":
            if not request.user.has_perm("tasks_app.acknowledge_task"):
                messages.error(request, "You may not acknowledge tasks.")
                return redirect(self.board_url())
            outcomes = tasks_acknowledge_each(task_ids=data["task"], actor=request.user)
        else:
            outcomes = tasks_reassign_each(
                task_ids=data["task"], nurse=data["nurse"], actor=request.user, allow_over_limit=data["over_limit"]
            )
        return self.report(outcomes, nurse=data["nurse"], action=data["action"])


class HandOverView(OutcomeScreen):
    """Hand over all of one nurse's open tasks: to a named nurse, or each to the next nurse on shift."""

    template_name = "admin/tasks_app/hand_over.html"

    def holder(self) -> Nurse:
        return get_object_or_404(Nurse.objects.select_related("user"), pk=self.kwargs["nurse_id"])

    def get_title(self) -> str:
        return f"Hand over all of {self.holder()}'s tasks"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        holder = self.holder()
        return self.render_to_response(self.hand_over_context(holder, HandOverForm(holder=holder)))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        holder = self.holder()
        form = HandOverForm(request.POST, holder=holder)
        if not form.is_valid():
            return self.render_to_response(self.hand_over_context(holder, form), status=400)
        to_nurse = form.cleaned_data["to_nurse"]
        outcomes = nurse_tasks_hand_over(nurse=holder, to_nurse=to_nurse, actor=request.user)
        if not outcomes:
            messages.info(request, f"{holder} holds no open tasks: nothing to hand over.")
            return redirect(self.board_url())
        return self.report(outcomes, nurse=to_nurse, action="assign")

    def hand_over_context(self, holder: Nurse, form: HandOverForm) -> dict[str, Any]:
        now = timezone.now()
        tasks = (
            EscalationTask.objects.filter(assigned_to=holder, status__in=OPEN_TASK_STATUSES)
            .select_related("patient", "episode", "interaction", "assigned_to__user")
            .order_by("sla_breach_at", "pk")
        )
        return self.get_context_data(
            holder=holder,
            form=form,
            rows=[task_row(task, user=self.request.user, now=now) for task in tasks],
            board_url=self.board_url(),
        )


def _outcomes_title(outcomes: list[TaskOutcome], *, confirming: int) -> str:
    """ "1 of 3 tasks done", and how many of the rest wait for the over-limit confirmation."""
    done = f"{sum(outcome.done for outcome in outcomes)} of {len(outcomes)} tasks done"
    return f"{done}; {confirming} need{'s' if confirming == 1 else ''} your confirmation" if confirming else done
