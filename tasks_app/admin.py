from itertools import pairwise
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from care_events.validators import phone_to_e164
from config.admin import ReadOnlyAdmin
from tasks_app.models import EscalationTask, Nurse, NurseShift
from tasks_app.selectors import nurse_list_with_workload
from tasks_app.services.nurses import nurse_user_save
from tasks_app.services.tasks import task_cancel


class NurseShiftInlineFormSet(BaseInlineFormSet):
    """Shifts typed together on one page are checked against each other too.

    Each form's own validation checks the database (the model's exclusion constraint); two new rows that
    overlap each other are only visible here, and without this check the second insert would fail there.
    """

    def clean(self) -> None:
        super().clean()
        windows = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            starts_at, ends_at = form.cleaned_data.get("starts_at"), form.cleaned_data.get("ends_at")
            if starts_at and ends_at:
                windows.append((starts_at, ends_at))
        windows.sort()
        for (_, previous_end), (next_start, _) in pairwise(windows):
            if next_start < previous_end:
                raise ValidationError("Two of these shifts overlap each other; a nurse works one shift at a time.")


class NurseShiftInline(admin.TabularInline):
    model = NurseShift
    formset = NurseShiftInlineFormSet
    fields = ("starts_at", "ends_at", "tasks_assigned")
    readonly_fields = ("tasks_assigned",)
    extra = 1  # one blank row; "Add another" adds more
    ordering = ("-starts_at",)


class NurseAdminForm(forms.ModelForm):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)

    class Meta:
        model = Nurse
        fields = (
            "first_name",
            "last_name",
            "email",
            "phone",
            "preferred_channel",
            "is_active",
            "is_supervisor",
            "max_open_tasks",
        )
        help_texts = {
            "is_active": "Inactive nurses are never assigned tasks and cannot log in or use the API (her login is "
            "deactivated with her).",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["first_name"].initial = self.instance.user.first_name
            self.fields["last_name"].initial = self.instance.user.last_name

    def clean_phone(self) -> str:
        # Typed as people write it, (202) 555-0143, and stored in E.164 as the API stores it.
        return phone_to_e164(self.cleaned_data["phone"])

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        users = get_user_model().objects.filter(username=email.lower())
        if self.instance.pk:
            users = users.exclude(pk=self.instance.user_id)
        if users.exists():
            raise ValidationError("A user with this email already exists.")
        return email


@admin.register(Nurse)
class NurseAdmin(admin.ModelAdmin):
    form = NurseAdminForm
    inlines = (NurseShiftInline,)
    list_display = (
        "name",
        "phone",
        "preferred_channel",
        "is_active",
        "is_supervisor",
        "on_shift_now",
        "open_task_count",
        "last_assigned_at",
    )
    list_filter = ("is_active", "is_supervisor", "preferred_channel")
    search_fields = ("user__first_name", "user__last_name", "email", "phone")
    readonly_fields = ("last_assigned_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Nurse]:
        return nurse_list_with_workload()

    @admin.display(ordering="user__last_name")
    def name(self, nurse: Nurse) -> str:
        return str(nurse)

    @admin.display(boolean=True, ordering="on_shift_now", description="On shift now")
    def on_shift_now(self, nurse: Nurse) -> bool:
        return nurse.on_shift_now  # type: ignore[attr-defined]  # annotated by nurse_list_with_workload()

    @admin.display(ordering="open_task_count", description="Open tasks")
    def open_task_count(self, nurse: Nurse) -> int:
        return nurse.open_task_count  # type: ignore[attr-defined]  # annotated by nurse_list_with_workload()

    def save_model(self, request: HttpRequest, obj: Nurse, form: NurseAdminForm, change: bool) -> None:
        data = form.cleaned_data
        # Creating a nurse creates her login too; both rows are in the admin's transaction.
        obj.user = nurse_user_save(
            nurse=obj if change else None,
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            is_active=data["is_active"],
        )
        obj.save()


@admin.register(NurseShift)
class NurseShiftAdmin(admin.ModelAdmin):
    list_display = ("nurse", "starts_at", "ends_at", "tasks_assigned")
    list_filter = ("nurse", ("starts_at", admin.DateFieldListFilter))
    date_hierarchy = "starts_at"
    search_fields = ("nurse__user__first_name", "nurse__user__last_name")
    autocomplete_fields = ("nurse",)
    readonly_fields = ("tasks_assigned",)
    list_select_related = ("nurse__user",)


@admin.register(EscalationTask)
class EscalationTaskAdmin(ReadOnlyAdmin):
    """Read-only: tasks move on through the services (the API, the workflows, the actions here), which record
    every event."""

    list_display = (
        "id",
        "status",
        "severity",
        "priority",
        "action_type",
        "assigned_to",
        "created_at",
        "sla_breach_at",
    )
    list_filter = ("status", "severity", "priority", "action_type")
    search_fields = ("=id", "=episode__id", "=patient__id")
    list_select_related = ("assigned_to__user",)
    date_hierarchy = "created_at"
    actions = ("cancel",)

    @admin.action(description="Cancel the selected open tasks (no action needed)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[EscalationTask]) -> None:
        open_tasks = [task for task in queryset if task.is_open]
        for task in open_tasks:
            task_cancel(task=task, reason=f"Cancelled in admin by {request.user.get_username()}.")
        self.message_user(request, f"{len(open_tasks)} task(s) cancelled.", messages.SUCCESS)
