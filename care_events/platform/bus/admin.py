from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from care_events.platform.admin import ReadOnlyAdmin
from care_events.platform.bus.catalogue import CATALOGUE
from care_events.platform.bus.dispatch import handler_runs_redrive
from care_events.platform.bus.models import Event, HandlerRun, Timer
from care_events.platform.bus.timers import timers_rearm


class HandlerRunInline(admin.TabularInline):
    model = HandlerRun
    fields = ("handler", "status", "attempts", "last_error", "created_at", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "name", "id", "actor", "idempotency_key")
    list_filter = ("name",)
    search_fields = ("=id", "idempotency_key")
    date_hierarchy = "created_at"
    inlines = (HandlerRunInline,)


class EventNameListFilter(admin.SimpleListFilter):
    """By the run's event name. The choices are the catalogue's names, not a DISTINCT over every run: the list
    stays cheap however many runs the table holds."""

    title = "event"
    parameter_name = "event__name"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(name, name) for name in sorted(CATALOGUE)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[HandlerRun]) -> QuerySet[HandlerRun]:
        return queryset.filter(event__name=self.value()) if self.value() else queryset


@admin.register(HandlerRun)
class HandlerRunAdmin(ReadOnlyAdmin):
    """Failed runs are listed here with their last error; "Re-drive" runs them again. Filtered by status, event
    name and creation date, the list selects what `manage.py replay` selects after an outage (the same service
    re-drives them)."""

    list_display = ("created_at", "handler", "event", "status", "attempts", "next_attempt_at", "finished_at")
    list_filter = ("status", EventNameListFilter, "handler", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("=event__id",)
    list_select_related = ("event",)
    actions = ("redrive",)

    @admin.action(description="Re-drive the selected failed runs")
    def redrive(self, request: HttpRequest, queryset: QuerySet[HandlerRun]) -> None:
        count = handler_runs_redrive(run_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed run(s) queued again.", messages.SUCCESS)


@admin.register(Timer)
class TimerAdmin(ReadOnlyAdmin):
    """Timers given up after their attempts are listed with their last error (filter "Failed at: has date");
    "Re-arm" gives them fresh attempts, due now."""

    list_display = (
        "due_at",
        "kind",
        "subject_id",
        "published_at",
        "fired_at",
        "cancelled_at",
        "failed_at",
        "attempts",
    )
    list_filter = (
        "kind",
        ("fired_at", admin.EmptyFieldListFilter),
        ("cancelled_at", admin.EmptyFieldListFilter),
        ("failed_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("=subject_id",)
    date_hierarchy = "due_at"
    actions = ("rearm",)

    @admin.action(description="Re-arm the selected failed timers")
    def rearm(self, request: HttpRequest, queryset: QuerySet[Timer]) -> None:
        count = timers_rearm(timer_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed timer(s) re-armed.", messages.SUCCESS)
