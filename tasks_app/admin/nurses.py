"""Nurses in admin: a nurse and her login on one page, her shifts inline, her workload in the list."""

from typing import Any, cast

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from tasks_app.admin.forms import NurseAdminForm, NurseShiftForm, NurseShiftInlineFormSet
from tasks_app.models import Nurse, NurseShift
from tasks_app.selectors import nurse_list_with_workload
from tasks_app.services.nurses import nurse_user_save


class NurseShiftInline(admin.TabularInline):
    model = NurseShift
    form = NurseShiftForm
    formset = NurseShiftInlineFormSet
    fields = ("starts_at", "ends_at", "tasks_assigned")
    readonly_fields = ("tasks_assigned",)
    extra = 1  # one blank row; "Add another" adds more
    ordering = ("-starts_at",)


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
    list_filter = ("is_active", "is_supervisor", "care_team", "preferred_channel")
    search_fields = ("user__first_name", "user__last_name", "email", "phone")
    readonly_fields = ("last_assigned_at",)
    login_fieldset = (
        "Login",
        {
            "fields": ("can_log_in", "password1", "password2"),
            "description": "Her username is her email. Give her a password here and she logs in at this site's "
            "address; she is in the Nurse group and sees her own tasks.",
        },
    )

    def get_fieldsets(self, request: HttpRequest, obj: Nurse | None = None) -> Any:
        main = (
            None,
            {
                "fields": (
                    ("first_name", "last_name"),
                    "email",
                    "phone",
                    "preferred_channel",
                    "is_active",
                    "is_supervisor",
                    "care_team",
                    "max_open_tasks",
                    "last_assigned_at",
                )
            },
        )
        # Her password is set when she is created; changing it later is an account administrator's
        # (auth.change_user), so a charge nurse cannot take over a colleague's login.
        if obj is None or request.user.has_perm("auth.change_user"):
            return [main, self.login_fieldset]
        return [main]

    def get_form(self, request: HttpRequest, obj: Nurse | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = cast(type[NurseAdminForm], super().get_form(request, obj, change, **kwargs))  # a new class each time
        form.sets_login = obj is None or request.user.has_perm("auth.change_user")
        return form

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
            password=data.get("password1") or None,
            can_log_in=data.get("can_log_in") if "can_log_in" in form.fields else None,
            is_active=data["is_active"],
            actor=request.user,
        )
        obj.save()
