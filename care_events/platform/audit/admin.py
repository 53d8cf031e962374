"""The audit trail in admin: superusers read it (filter by patient, by user, by day), nobody changes it; and the
mixin every admin page of the product goes through, so that each view and change of a row is recorded."""

import uuid
from typing import Any

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join

from care_events.platform.audit.models import AuditAction, AuditEntry
from care_events.platform.audit.notes import note


class AuditedAdmin(admin.ModelAdmin):
    """Notes what each admin page showed or changed; AuditMiddleware writes the row with the status code.

    The admin site applies it to every ModelAdmin it registers (care_events/platform/admin.py), so no PHI page can miss
    it.
    """

    def _noted(self, request: HttpRequest, read: str, write: str, ids: list[Any]) -> None:
        action = read if request.method in ("GET", "HEAD") else write
        note(request, action=action, model=self.model, ids=ids)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME)  # an action run on the ticked rows
        self._noted(request, AuditAction.ADMIN_LIST, AuditAction.ADMIN_CHANGE, selected)
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None and request.method in ("GET", "HEAD"):
            note(request, model=self.model, ids=[obj.pk for obj in changelist.result_list])
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._noted(request, AuditAction.ADMIN_VIEW, AuditAction.ADMIN_CHANGE, [object_id])
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> Any:
        self._noted(request, AuditAction.ADMIN_VIEW, AuditAction.ADMIN_ADD, [])
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        note(request, model=self.model, ids=[obj.pk])

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        """Every change admin's log records (an action on ticked rows, a care team screen's move) names its row."""
        note(request, objects=[obj])
        return super().log_change(request, obj, message)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None) -> Any:
        self._noted(request, AuditAction.ADMIN_VIEW, AuditAction.ADMIN_DELETE, [object_id])
        return super().delete_view(request, object_id, extra_context)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        note(
            request, action=AuditAction.ADMIN_DELETE, model=self.model, ids=list(queryset.values_list("pk", flat=True))
        )
        super().delete_queryset(request, queryset)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None) -> Any:
        self._noted(request, AuditAction.ADMIN_VIEW, AuditAction.ADMIN_VIEW, [object_id])
        return super().history_view(request, object_id, extra_context)


class AuditedAutocomplete(AutocompleteJsonView):
    """Admin's autocomplete (a form's search for a patient, a nurse): the rows it answered, as a list page's."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        note(self.request, action=AuditAction.ADMIN_LIST, objects=context["object_list"])
        return context


class _ValueFilter(admin.SimpleListFilter):
    """A filter by one typed value (`?patient=<id>`), reached from the links in the list or typed in the URL: a
    list of every patient or user ever audited would be a scan of the whole table."""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, value)] if value else []


class PatientFilter(_ValueFilter):
    title = "patient"
    parameter_name = "patient"

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        value = self.value()
        if not value:
            return queryset
        try:
            return queryset.filter(patient_ids__contains=[uuid.UUID(value)])
        except ValueError:
            return queryset.none()


class UserFilter(_ValueFilter):
    title = "user"
    parameter_name = "user"

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(user_id=int(value)) if value.isdigit() else queryset.filter(username=value)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read by superusers only (not by a permission an administrator could grant herself): the trail is also the
    record of what administrators did."""

    list_display = (
        "at",
        "action",
        "who",
        "auth_method",
        "client_address",
        "method",
        "route",
        "status_code",
        "patients",
    )
    list_filter = (PatientFilter, UserFilter, "action", "auth_method")
    date_hierarchy = "at"
    search_fields = ("=username", "=request_id", "=token_prefix")
    search_help_text = "A user name, a request id or a key prefix; a patient's id (UUID) finds the rows naming them."
    show_full_result_count = False  # a COUNT(*) over the whole trail on every page is not worth it

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditEntry], search_term: str
    ) -> tuple[QuerySet[AuditEntry], bool]:
        try:
            patient = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(patient_ids__contains=[patient]), False

    @admin.display(description="user", ordering="username")
    def who(self, entry: AuditEntry) -> str:
        if entry.user_id is None:
            return entry.username
        return format_html('<a href="?user={}">{}</a>', entry.user_id, entry.username)

    @admin.display(description="patients")
    def patients(self, entry: AuditEntry) -> str:
        shown = entry.patient_ids[:3]
        links = format_html_join(", ", '<a href="?patient={}">{}</a>', ((pid, str(pid)[:8]) for pid in shown))
        more = len(entry.patient_ids) - len(shown)
        return format_html("{} (+{})", links, more) if more > 0 else links

    def get_readonly_fields(self, request: HttpRequest, obj: AuditEntry | None = None) -> list[str]:
        return [field.name for field in AuditEntry._meta.fields]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
