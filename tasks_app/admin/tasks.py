"""Escalation tasks in admin (read-only) and the care team's task screens under them: the worklist, the board and
the task actions (tasks_app/screens/)."""

import uuid
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from care_events.platform.admin import ReadOnlyAdmin
from tasks_app.care_team import sla_state, time_left_label
from tasks_app.models import EscalationTask, ResolutionOutcome, ResolutionPhrase
from tasks_app.screens.board import BoardView
from tasks_app.screens.bulk import BulkTasksView, HandOverView
from tasks_app.screens.common import CareTeamView, task_row
from tasks_app.screens.task_actions import (
    AcknowledgeView,
    CancelView,
    NoteForm,
    NoteView,
    ReassignView,
    ResolveView,
    draft_key,
    stale_link_response,
)
from tasks_app.screens.worklist import WorklistView
from tasks_app.selectors import task_holder_history, tasks_visible_in_admin
from tasks_app.services.tasks import task_cancel
from tasks_app.timeline import task_timeline


@admin.register(EscalationTask)
class EscalationTaskAdmin(ReadOnlyAdmin):
    """Read-only: tasks move on through the services (the API, the workflows, the worklist's and the board's actions
    in tasks_app/screens/), which record every event. A nurse reaches her own tasks only."""

    change_form_template = "admin/tasks_app/escalationtask/change_form.html"
    list_display = (
        "created_at",
        "patient_name",
        "status",
        "severity",
        "action_type",
        "assigned_to",
        "time_to_breach",
    )
    list_filter = ("status", "severity", "priority", "action_type", "care_team")
    search_fields = ("=id", "=episode__id", "=patient__id", "=interaction__id", "patient__last_name")
    list_select_related = ("assigned_to__user", "patient")
    date_hierarchy = "created_at"
    actions = ("cancel",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[EscalationTask]:
        return tasks_visible_in_admin(user=request.user)

    @admin.display(ordering="patient__last_name", description="Patient")
    def patient_name(self, task: EscalationTask) -> str:
        return f"{task.patient.first_name} {task.patient.last_name}"

    @admin.display(ordering="sla_breach_at", description="SLA")
    def time_to_breach(self, task: EscalationTask) -> str:
        if not task.is_open:
            return "—"
        now = timezone.now()
        state = sla_state(breach_at=task.sla_breach_at, sla_minutes=task.sla_minutes, now=now)
        return format_html(
            '<span class="sla-badge" data-sla="{}">{}</span> {}',
            state.value,
            state.label,
            time_left_label(breach_at=task.sla_breach_at, now=now),
        )

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tasks_app.cancel_task")

    @admin.action(description="Cancel the selected open tasks (no action needed)", permissions=["cancel"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[EscalationTask]) -> None:
        open_tasks = [task for task in queryset if task.is_open]
        for task in open_tasks:
            task_cancel(task=task, reason=f"Cancelled in admin by {request.user.get_username()}.", actor=request.user)
            self.log_change(request, task, "Cancelled: no action needed.")
        self.message_user(request, f"{len(open_tasks)} task(s) cancelled.", messages.SUCCESS)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra_context = extra_context or {}
        task = self.get_object(request, object_id) if object_id else None
        if task is None and object_id:
            # A link to a task she no longer reaches (an old SMS, since reassigned or never hers) says why in words,
            # not admin's "doesn't exist. Perhaps it was deleted?".
            task_id = _uuid_or_none(object_id)
            everyone = EscalationTask.objects.select_related("assigned_to__user")
            stale = everyone.filter(pk=task_id).first() if task_id is not None else None
            if stale is not None:
                return stale_link_response(request, task=stale, model_admin=self)
        if task is not None:
            now = timezone.now()
            extra_context["row"] = task_row(task, user=request.user, now=now)
            extra_context["links"] = _task_links(task)
            extra_context["history"] = task_holder_history(task_id=task.pk)
            extra_context["timeline"] = task_timeline(task=task)
            # Admin's <title> and <h1> name the patient and the action, not "Task 23840582-… (HIGH, ACKNOWLEDGED)".
            extra_context["title"], extra_context["subtitle"] = task_title(task), ""
            if task.is_open and request.user.has_perm("tasks_app.resolve_task"):
                extra_context["note_form"] = NoteForm()
                extra_context["note_draft_key"] = draft_key(request, task, NoteView.draft)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        def screen(view: type[CareTeamView]) -> Any:
            return self.admin_site.admin_view(view.as_view(model_admin=self))

        return [
            path("worklist/", screen(WorklistView), name="tasks_app_escalationtask_worklist"),
            path("board/", screen(BoardView), name="tasks_app_escalationtask_board"),
            path("board/selected/", screen(BulkTasksView), name="tasks_app_escalationtask_bulk"),
            path("board/hand-over/<int:nurse_id>/", screen(HandOverView), name="tasks_app_escalationtask_hand_over"),
            path(
                "<uuid:task_id>/acknowledge/",
                screen(AcknowledgeView),
                name="tasks_app_escalationtask_acknowledge",
            ),
            path("<uuid:task_id>/resolve/", screen(ResolveView), name="tasks_app_escalationtask_resolve"),
            path("<uuid:task_id>/reassign/", screen(ReassignView), name="tasks_app_escalationtask_reassign"),
            path("<uuid:task_id>/cancel/", screen(CancelView), name="tasks_app_escalationtask_cancel"),
            path("<uuid:task_id>/note/", screen(NoteView), name="tasks_app_escalationtask_note"),
            *super().get_urls(),
        ]


def _task_links(task: EscalationTask) -> list[tuple[str, str]]:
    """The task's patient, episode and interaction pages (patient ↔ episodes ↔ tasks ↔ interaction)."""
    links = [
        ("Patient", reverse("admin:care_events_patient_change", args=[task.patient_id])),
        ("Episode", reverse("admin:care_events_episode_change", args=[task.episode_id])),
    ]
    if task.interaction_id is not None:
        links.append(("Interaction", reverse("admin:care_events_agentinteraction_change", args=[task.interaction_id])))
    return links


def task_title(task: EscalationTask) -> str:
    """A task page's title: the patient and the action ("Ada Moreno: Nurse callback within 2 h"), not its UUID."""
    return f"{task.patient.first_name} {task.patient.last_name}: {task.get_action_type_display()}"


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@admin.register(ResolutionOutcome)
class ResolutionOutcomeAdmin(admin.ModelAdmin):
    """The outcomes a task is resolved with: added, renamed, reordered or retired (never deleted once used)."""

    list_display = ("label", "code", "is_active", "position")
    list_editable = ("is_active", "position")
    prepopulated_fields = {"code": ("label",)}


@admin.register(ResolutionPhrase)
class ResolutionPhraseAdmin(admin.ModelAdmin):
    """Phrases nurses reuse in resolution notes, offered as buttons on the Resolve page."""

    list_display = ("text", "position")
    list_editable = ("position",)
