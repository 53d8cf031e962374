"""The task actions: acknowledge, resolve, reassign, cancel. A page that shows the task and asks to confirm, then the
task service, which records the event, cancels or keeps the SLA timers and notifies; admin's log records the move."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from tasks_app.models import EscalationTask, Nurse
from tasks_app.screens.common import CareTeamView, task_row
from tasks_app.selectors import (
    acting_nurse_for,
    nurse_list_with_workload,
    task_holder_history,
    tasks_visible_in_admin,
)
from tasks_app.services.bulk import reassignment_words
from tasks_app.services.tasks import (
    OverLimitError,
    TaskStateError,
    task_acknowledge,
    task_cancel,
    task_reassign,
    task_resolve,
)


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


def nurse_choice_label(nurse: Nurse) -> str:
    """ "Mary Seacole (on shift, 6 of 6 tasks)": a nurse of `nurse_list_with_workload` as a choice."""
    where = "on shift" if nurse.on_shift_now else "off shift"  # type: ignore[attr-defined]
    load = f"{nurse.open_task_count} of {nurse.max_open_tasks} tasks"  # type: ignore[attr-defined]
    return f"{nurse} ({where}, {load})"


class NurseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, nurse: Nurse) -> str:  # type: ignore[override]
        return nurse_choice_label(nurse)


class ReassignForm(forms.Form):
    nurse = NurseChoiceField(
        queryset=Nurse.objects.none(),
        required=False,
        empty_label="The next nurse on shift (round-robin, not the current one)",
        label="Give the task to",
    )
    # Offered only once the service said the nurse is at her limit: the second submit confirms it explicitly.
    over_limit = forms.BooleanField(required=False, label="Yes, give it to her over her limit")

    def __init__(self, *args: Any, offer_over_limit: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["nurse"].queryset = nurse_list_with_workload().filter(is_active=True)  # type: ignore[attr-defined]
        if not (offer_over_limit or (self.data and self.data.get("over_limit"))):
            del self.fields["over_limit"]


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
                form = self.form_after_refusal(form, refused)
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

    def form_after_refusal(self, form: forms.Form, refused: TaskStateError) -> forms.Form:
        """The form shown again with the service's refusal (a subclass may offer a confirmation)."""
        return form

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
        # A charge nurse acknowledges for the assignee (nurse=None); a nurse, who reaches only her own tasks, as
        # herself. The event names who acted either way.
        task_acknowledge(task=task, nurse=acting_nurse_for(user=self.request.user), actor=self.request.user)
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

    def form_after_refusal(self, form: forms.Form, refused: TaskStateError) -> forms.Form:
        if not isinstance(refused, OverLimitError):
            return form
        # Ask again, with the explicit confirmation a charge nurse ticks to go over the nurse's limit.
        confirming = ReassignForm(self.request.POST, offer_over_limit=True)
        confirming.is_valid()
        return confirming

    def perform(self, task: EscalationTask, data: dict[str, Any]) -> str:
        before, was_acknowledged = task.assigned_to, task.status == EscalationTask.Status.ACKNOWLEDGED
        task = task_reassign(
            task=task, nurse=data["nurse"], actor=self.request.user, allow_over_limit=bool(data.get("over_limit"))
        )
        task = EscalationTask.objects.select_related("assigned_to__user").get(pk=task.pk)
        return reassignment_words(before=before, was_acknowledged=was_acknowledged, task=task)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(history=task_holder_history(task_id=kwargs["task"].pk), **kwargs)
