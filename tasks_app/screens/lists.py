"""What the board and the worklist share (docs/screens.md, "Find and narrow" and "Live"): the filters, remembered per
user in her session; a page of open tasks in the urgency order (tasks_app/task_lists.py); the tiles' counts over
every task she reaches; and the live fragment (`?partial=1`) that care_team.js fetches every
CARE_TEAM_REFRESH_SECONDS to update the tiles, the rows and the tab's title together, without a reload."""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from care_events.choices import Severity
from tasks_app.models import ActionType, EscalationTask, Nurse
from tasks_app.screens.common import CareTeamView, task_row
from tasks_app.task_lists import (
    OpenTaskCounts,
    TaskFilters,
    open_task_care_teams,
    open_task_counts,
    open_tasks_by_urgency,
    tasks_filtered,
)

FILTER_FIELDS = ("holder", "severity", "team", "action", "breached", "unacknowledged", "q")
# Sent by the filter form (a hidden field): filters chosen now, saved; without it, the ones saved last time apply.
CHOSEN = "filtered"


class TaskFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Find a patient",
        help_text="First or last name, phone, MRN or date of birth",
    )
    holder = forms.ChoiceField(required=False, label="Nurse")
    severity = forms.ChoiceField(required=False, choices=[("", "Any severity"), *Severity.choices])
    team = forms.ChoiceField(required=False, label="Care team")
    action = forms.ChoiceField(required=False, label="Kind of task", choices=[("", "Any kind"), *ActionType.choices])
    breached = forms.BooleanField(required=False, label="Breached only")
    unacknowledged = forms.BooleanField(required=False, label="Not acknowledged")
    page = forms.IntegerField(required=False, min_value=1, label="Page")

    def __init__(self, *args: Any, sees_all: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not sees_all:  # a nurse's list is her own tasks: whose and which team are already decided
            del self.fields["holder"], self.fields["team"]
            return
        nurses = Nurse.objects.filter(is_active=True).select_related("user")
        self.fields["holder"].choices = [  # type: ignore[attr-defined]
            ("", "Anyone or nobody"),
            ("mine", "Mine"),
            ("unassigned", "Nobody (unassigned)"),
            *((str(nurse.pk), str(nurse)) for nurse in nurses),
        ]
        self.fields["team"].choices = [("", "Every team"), *((t, t) for t in open_task_care_teams())]  # type: ignore[attr-defined]

    def task_filters(self) -> TaskFilters:
        data = self.cleaned_data
        return TaskFilters(
            holder=data.get("holder", ""),
            breached=data["breached"],
            unacknowledged=data["unacknowledged"],
            severity=data["severity"],
            care_team=data.get("team", ""),
            action_type=data["action"],
            search=data["q"].strip(),
        )


class TaskListScreen(CareTeamView):
    """A list of open tasks, filtered, paged and live. Subclasses name their templates and page size."""

    screen = ""  # the session key's suffix: each screen remembers its own filters
    fragment_template = ""
    page_size = 25
    with_answers = True  # the worklist's cards show what the patient said; the board's rows do not

    def sees_all(self) -> bool:
        return self.request.user.has_perm("tasks_app.view_all_tasks")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        data = self.filter_data()
        form = TaskFilterForm({**data, "page": request.GET.get("page", "")}, sees_all=self.sees_all())
        if not form.is_valid() and CHOSEN not in request.GET and "page" not in form.errors:
            # Filters saved earlier that no longer hold (a nurse since made inactive): forgotten, not an error.
            request.session.pop(self.session_key(), None)
            data = {}
            form = TaskFilterForm({"page": request.GET.get("page", "")}, sees_all=self.sees_all())
        if not form.is_valid():  # nothing saved, nothing listed: the form says which field
            context = self.get_context_data(filter_form=form, **self.list_context(None, form, data))
            return self.render_to_response(context, status=400)
        if CHOSEN in request.GET:
            request.session[self.session_key()] = data
        context = self.get_context_data(filter_form=form, **self.list_context(form.task_filters(), form, data))
        if request.GET.get("partial"):
            return self.response_class(request=request, template=[self.fragment_template], context=context)
        return self.render_to_response(context)

    def session_key(self) -> str:
        return f"care_team_filters:{self.screen}"

    def filter_data(self) -> dict[str, str]:
        params = self.request.GET
        if "clear" in params:
            self.request.session.pop(self.session_key(), None)
            return {}
        if CHOSEN in params:
            return {field: params[field] for field in FILTER_FIELDS if params.get(field)}
        return dict(self.request.session.get(self.session_key(), {}))

    def list_context(self, filters: TaskFilters | None, form: TaskFilterForm, data: dict[str, str]) -> dict[str, Any]:
        now, user = timezone.now(), self.request.user
        counts = open_task_counts(user=user, now=now)
        page: Page | None = None
        on_page: list[EscalationTask] = []
        if filters is not None:
            tasks = open_tasks_by_urgency(user=user, now=now, with_answers=self.with_answers)
            tasks = tasks_filtered(tasks, filters=filters, user=user, now=now)
            # The page's ids first, from the tasks table alone (the order's sort needs no join), then their rows.
            ids = Paginator(tasks.values_list("pk", flat=True), self.page_size)
            page = ids.get_page(form.cleaned_data["page"] or 1)
            loaded = tasks.in_bulk(list(page))
            on_page = [loaded[pk] for pk in page if pk in loaded]
        return {
            "counts": counts,
            "page_obj": page,
            "rows": [task_row(task, user=user, now=now, with_answers=self.with_answers) for task in on_page],
            "filters_on": bool(data),
            "filter_query": urlencode({**data, CHOSEN: "1"}),
            "page_title": self.page_title(counts),
            "refresh_seconds": settings.CARE_TEAM_REFRESH_SECONDS,
            "idle_seconds": settings.SESSION_IDLE_TIMEOUT_MINUTES * 60,
            "newest_critical": counts.newest_critical.isoformat() if counts.newest_critical else "",
        }

    def page_title(self, counts: OpenTaskCounts) -> str:
        return f"{counts.title_prefix}{self.get_title()}"
