from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from care_events.events.bus import handler_runs_redrive
from care_events.models import (
    AgentInteraction,
    ApiToken,
    Episode,
    Event,
    HandlerRun,
    InteractionResponse,
    OutreachAttempt,
    OutreachPlan,
    Patient,
    Timer,
)


class EpisodeInline(admin.TabularInline):
    model = Episode
    fields = ("condition", "facility", "admitted_at", "discharged_at")
    extra = 0
    show_change_link = True


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = (
        "last_name",
        "first_name",
        "date_of_birth",
        "timezone",
        "preferred_language",
        "sms_consent",
    )
    list_filter = ("sms_consent", "preferred_language")
    search_fields = ("last_name", "first_name", "phone", "=id")
    readonly_fields = ("sms_opted_out_at", "created_at", "updated_at")
    inlines = (EpisodeInline,)


class OutreachPlanInline(admin.TabularInline):
    model = OutreachPlan
    fields = ("status", "channel", "max_attempts", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Episode)
class EpisodeAdmin(admin.ModelAdmin):
    list_display = ("id", "patient", "condition", "facility", "admitted_at", "discharged_at")
    list_filter = ("condition", "facility")
    search_fields = ("=id", "=patient__id", "patient__last_name", "facility")
    date_hierarchy = "discharged_at"
    autocomplete_fields = ("patient",)
    list_select_related = ("patient",)
    inlines = (OutreachPlanInline,)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened (clinical, billing and audit trail): viewable, never edited by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OutreachAttemptInline(admin.TabularInline):
    model = OutreachAttempt
    fields = ("attempt_number", "channel", "status", "scheduled_at", "attempted_at", "answered_at", "outcome")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(OutreachPlan)
class OutreachPlanAdmin(ReadOnlyAdmin):
    list_display = ("id", "episode", "status", "channel", "created_at")
    list_filter = ("status", "channel")
    search_fields = ("=id", "=episode__id")
    inlines = (OutreachAttemptInline,)


@admin.register(OutreachAttempt)
class OutreachAttemptAdmin(ReadOnlyAdmin):
    list_display = ("id", "plan", "attempt_number", "channel", "status", "scheduled_at", "attempted_at")
    list_filter = ("status", "channel")
    search_fields = ("=id", "=plan__id", "=plan__episode__id")


class InteractionResponseInline(admin.TabularInline):
    model = InteractionResponse
    fields = ("received_at", "severity", "reason_codes", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(AgentInteraction)
class AgentInteractionAdmin(ReadOnlyAdmin):
    list_display = ("id", "episode", "status", "severity", "started_at", "completed_at")
    list_filter = ("status", "severity")
    search_fields = ("=id", "=episode__id")
    date_hierarchy = "started_at"
    inlines = (InteractionResponseInline,)


class HandlerRunInline(admin.TabularInline):
    model = HandlerRun
    fields = ("handler", "status", "attempts", "last_error", "created_at", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "name", "id", "idempotency_key")
    list_filter = ("name",)
    search_fields = ("=id", "idempotency_key")
    date_hierarchy = "created_at"
    inlines = (HandlerRunInline,)


@admin.register(HandlerRun)
class HandlerRunAdmin(ReadOnlyAdmin):
    """Failed runs are listed here with their last error; "Re-drive" runs them again."""

    list_display = ("created_at", "handler", "event", "status", "attempts", "next_attempt_at", "finished_at")
    list_filter = ("status", "handler")
    search_fields = ("=event__id",)
    list_select_related = ("event",)
    actions = ("redrive",)

    @admin.action(description="Re-drive the selected failed runs")
    def redrive(self, request: HttpRequest, queryset: QuerySet[HandlerRun]) -> None:
        count = handler_runs_redrive(run_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed run(s) queued again.", messages.SUCCESS)

    def has_change_permission(self, request, obj=None) -> bool:
        # The action needs change permission on the list; the detail page stays read-only (no editable fields).
        return request.user.has_perm("care_events.change_handlerrun")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(Timer)
class TimerAdmin(ReadOnlyAdmin):
    list_display = ("due_at", "kind", "subject_id", "fired_at", "cancelled_at", "attempts")
    list_filter = (
        "kind",
        ("fired_at", admin.EmptyFieldListFilter),
        ("cancelled_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("=subject_id",)
    date_hierarchy = "due_at"


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Who holds an API key, and since when. Keys are created or rotated by `create_agent_token` and
    `create_api_token`, which print the key once; deleting a row here revokes the key at once."""

    list_display = ("user", "prefix", "created_at")
    search_fields = ("user__username", "=prefix")
    readonly_fields = ("user", "prefix", "created_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
