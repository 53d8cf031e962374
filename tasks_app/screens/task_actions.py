"""The task actions: acknowledge, resolve, reassign, cancel. A page that shows the task and asks to confirm, then the
task service, which records the event, cancels or keeps the SLA timers and notifies; admin's log records the move."""

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from tasks_app.care_team import care_team_time, care_team_zone
from tasks_app.models import CallOutcome, EscalationTask, Nurse, ResolutionOutcome, ResolutionPhrase
from tasks_app.screens.common import CareTeamView, task_row
from tasks_app.selectors import (
    acting_nurse_for,
    nurse_list_with_workload,
    resolution_outcomes_offered,
    task_holder_history,
    tasks_visible_in_admin,
)
from tasks_app.services.bulk import reassignment_words
from tasks_app.services.notes import task_note_add
from tasks_app.services.tasks import (
    OverLimitError,
    TaskStateError,
    task_acknowledge,
    task_cancel,
    task_reassign,
    task_resolve,
)
from tasks_app.timeline import task_stale_words


class AcknowledgeForm(forms.Form):
    pass


class ResolveForm(forms.Form):
    outcome = forms.ModelChoiceField(
        queryset=ResolutionOutcome.objects.none(),
        required=False,
        widget=forms.RadioSelect,
        empty_label=None,
        label="Outcome",
        help_text="What came of it (reporting counts these).",
    )
    note = forms.CharField(
        label="What did you do?",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "data-draft": "resolve"}),
        help_text="Kept on the task, e.g. “Called the patient; diuretic dose adjusted with the cardiologist.” "
        "Optional when you choose an outcome.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].queryset = resolution_outcomes_offered()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("outcome") and not (data.get("note") or "").strip():
            raise forms.ValidationError("Choose an outcome or write what you did.")
        return data


class NoteForm(forms.Form):
    call_outcome = forms.ChoiceField(
        choices=[("", "No call: a note"), *CallOutcome.choices],
        required=False,
        widget=forms.RadioSelect,
        label="Did you call the patient?",
    )
    retry_at = forms.TimeField(
        required=False,
        label="Call again at",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Optional, today in the care team's time zone (tomorrow if the time has passed).",
    )
    text = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "data-draft": "note"}),
        help_text="E.g. “No answer, voicemail left; will try again.”",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("call_outcome") and not (data.get("text") or "").strip():
            raise forms.ValidationError("Write a note or choose how the call went.")
        if data.get("retry_at") and not data.get("call_outcome"):
            self.add_error("retry_at", "A time to call again belongs to a call: choose how the call went.")
        return data


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
    draft = ""  # the name of the form's draft in the browser (task_page.js), for a form with free text

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        except StaleLink as stale:
            assert self.model_admin is not None
            return stale_link_response(request, task=stale.task, model_admin=self.model_admin)

    def get_task(self) -> EscalationTask:
        """The task, if the user reaches it; one she does not (since reassigned, not hers) is StaleLink, said in
        words; one that does not exist is a 404."""
        visible = tasks_visible_in_admin(user=self.request.user).select_related(
            "patient", "episode", "interaction", "assigned_to__user"
        )
        task = visible.prefetch_related("interaction__responses").filter(pk=self.kwargs["task_id"]).first()
        if task is None:
            raise StaleLink(
                get_object_or_404(EscalationTask.objects.select_related("assigned_to__user"), pk=self.kwargs["task_id"])
            )
        return task

    def next_url(self) -> str:
        candidate = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if url_has_allowed_host_and_scheme(candidate, allowed_hosts={self.request.get_host()}):
            return candidate
        return reverse("admin:tasks_app_escalationtask_worklist")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        task = self.get_task()
        if not task.is_open:
            messages.warning(request, task_stale_words(task=task, user=request.user, now=timezone.now()))
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
                # Without the patient's name: messages may travel in a cookie. The tag tells the page's script
                # the draft of this form was saved, so it is dropped from the browser (tasks_app/.../task_page.js).
                messages.success(request, message, extra_tags=f"draft-saved {draft_key(request, task, self.draft)}")
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
            draft_key=draft_key(self.request, task, self.draft) if self.draft else "",
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
    verb, button, draft = "Resolve", "Resolve the task", "resolve"

    def perform(self, task: EscalationTask, data: dict[str, Any]) -> str:
        outcome = data.get("outcome")
        task_resolve(task=task, resolution=data["note"], outcome=outcome, actor=self.request.user)
        return f"Resolved: {outcome}." if outcome else "Resolved with a note."

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(phrases=list(ResolutionPhrase.objects.all()), **kwargs)


class NoteView(TaskActionView):
    """A note or a call attempt on an open task, which stays open (a nurse who may resolve it may note it)."""

    permission = "tasks_app.resolve_task"
    form_class = NoteForm
    verb, button, draft = "Add a note to", "Add to the task", "note"

    def perform(self, task: EscalationTask, data: dict[str, Any]) -> str:
        note = task_note_add(
            task=task,
            author=self.request.user,  # type: ignore[arg-type]
            text=data["text"],
            call_outcome=data["call_outcome"],
            retry_at=retry_at_from(data.get("retry_at"), now=timezone.now()),
        )
        return f"Call noted: {note.get_call_outcome_display().lower()}." if note.call_outcome else "Note added."


class CancelView(TaskActionView):
    permission = "tasks_app.cancel_task"
    form_class = CancelForm
    verb, button, danger, draft = "Cancel", "Cancel the task: no action needed", True, "cancel"

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


def retry_at_from(time: dt.time | None, *, now: dt.datetime) -> dt.datetime | None:
    """A time of day typed in the care team's zone: the next such moment (today, or tomorrow once it has passed)."""
    if time is None:
        return None
    today = care_team_time(now).date()
    at = dt.datetime.combine(today, time, tzinfo=care_team_zone())
    return at if at > now else at + dt.timedelta(days=1)


def draft_key(request: HttpRequest, task: EscalationTask, form: str) -> str:
    """The name a form's draft is kept under in the browser: per user, task and form, so a shared ward PC never
    offers one nurse's draft to another."""
    return f"draft-{request.user.pk}-{task.pk}-{form}"


class StaleLink(Exception):
    """The task exists, but not for this user any more (reassigned, not hers): the page says so."""

    def __init__(self, task: EscalationTask) -> None:
        super().__init__(str(task.pk))
        self.task = task


def stale_link_response(request: HttpRequest, *, task: EscalationTask, model_admin: Any) -> HttpResponse:
    """A link to a task the user no longer reaches, explained in words without PHI, with a way back (403)."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "This task is not yours now",
        "words": task_stale_words(task=task, user=request.user, now=timezone.now()),
    }
    return TemplateResponse(request, "admin/tasks_app/task_stale.html", context, status=403)
