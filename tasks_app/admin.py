import datetime as dt
from itertools import pairwise
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from care_events.platform.admin import ReadOnlyAdmin
from care_events.validators import phone_to_e164
from tasks_app import admin_views
from tasks_app.care_team import care_team_zone, sla_state, time_left_label
from tasks_app.models import DEFAULT_CARE_TEAM, EscalationTask, Nurse, NurseShift
from tasks_app.selectors import nurse_list_with_workload, tasks_visible_in_admin
from tasks_app.services.nurses import nurse_user_save
from tasks_app.services.tasks import task_cancel

# Admin's home leads with the care team's screens (the board, the worklist, the roster), then the apps.
admin.site.index_template = "admin/tasks_app/index.html"
# "View site" opens the care team's home: the board for a charge nurse, the worklist for a nurse.
admin.site.site_url = "/"

ZONE_HELP = "In the care team's time zone, {zone}."


class NurseShiftForm(forms.ModelForm):
    """Shift times are typed, and shown, in the care team's zone (CARE_TEAM_TIME_ZONE), labelled with it."""

    class Meta:
        model = NurseShift
        fields = ("nurse", "starts_at", "ends_at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in (("starts_at", "Starts"), ("ends_at", "Ends")):
            self.fields[name].label = f"{label} ({settings.CARE_TEAM_TIME_ZONE})"
            self.fields[name].help_text = ZONE_HELP.format(zone=settings.CARE_TEAM_TIME_ZONE)


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
    form = NurseShiftForm
    formset = NurseShiftInlineFormSet
    fields = ("starts_at", "ends_at", "tasks_assigned")
    readonly_fields = ("tasks_assigned",)
    extra = 1  # one blank row; "Add another" adds more
    ordering = ("-starts_at",)


class NurseAdminForm(forms.ModelForm):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    can_log_in = forms.BooleanField(
        required=False,
        initial=True,
        label="Can log in to admin",
        help_text="Lets her open admin (the staff flag); what she sees there is her role's: the Nurse group, which "
        "every nurse is put in, shows her own tasks.",
    )
    password1 = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current one (a new nurse without one cannot log in until it is set).",
    )
    password2 = forms.CharField(
        label="Password again",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

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
            "care_team",
            "max_open_tasks",
        )
        help_texts = {
            # Typed as people write it (clean_phone): the model's own help text describes what is stored.
            "phone": "As people write it: (202) 555-0143, or with its country code, +44 20 7946 0958. Stored as "
            "+12025550143.",
            "is_active": "Inactive nurses are never assigned tasks and cannot log in or use the API (her login is "
            "deactivated with her).",
        }

    # Whether this form sets the login (NurseAdmin.get_form decides, by the user's permission).
    sets_login = True
    LOGIN_FIELDS = ("can_log_in", "password1", "password2")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["care_team"].required = False
        if not self.sets_login:
            for name in self.LOGIN_FIELDS:
                del self.fields[name]
        if self.instance.pk:
            self.fields["first_name"].initial = self.instance.user.first_name
            self.fields["last_name"].initial = self.instance.user.last_name
            if self.sets_login:
                self.fields["can_log_in"].initial = self.instance.user.is_staff

    def clean_care_team(self) -> str:
        return self.cleaned_data.get("care_team") or DEFAULT_CARE_TEAM  # left empty: the one team of a small site

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

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        password, again = data.get("password1"), data.get("password2")
        if password or again:
            if password != again:
                self.add_error("password2", "The two passwords differ.")
            else:
                user = get_user_model()(
                    username=data.get("email", ""),
                    first_name=data.get("first_name", ""),
                    last_name=data.get("last_name", ""),
                )
                try:
                    password_validation.validate_password(password or "", user)
                except ValidationError as weak:
                    self.add_error("password1", weak)
        return data


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
        )
        obj.save()


@admin.register(NurseShift)
class NurseShiftAdmin(admin.ModelAdmin):
    form = NurseShiftForm
    list_display = ("nurse", "starts", "ends", "tasks_assigned")
    list_filter = ("nurse", ("starts_at", admin.DateFieldListFilter))
    date_hierarchy = "starts_at"
    search_fields = ("nurse__user__first_name", "nurse__user__last_name")
    autocomplete_fields = ("nurse",)
    readonly_fields = ("tasks_assigned",)
    list_select_related = ("nurse__user",)

    # Admin pages run in the care team's zone (tasks_app.middleware), so these show its wall-clock times.
    @admin.display(ordering="starts_at", description=f"Starts ({settings.CARE_TEAM_TIME_ZONE})")
    def starts(self, shift: NurseShift) -> str:
        return f"{timezone.localtime(shift.starts_at):%a %-d %b %Y %H:%M}"

    @admin.display(ordering="ends_at", description=f"Ends ({settings.CARE_TEAM_TIME_ZONE})")
    def ends(self, shift: NurseShift) -> str:
        return f"{timezone.localtime(shift.ends_at):%a %-d %b %Y %H:%M}"

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """The roster's "add a shift" links carry the gap's times (?starts_at=2026-12-07T00:00, in the care team's
        zone) and may carry a nurse; anything that does not parse is left empty."""
        initial: dict[str, Any] = {}
        for name in ("starts_at", "ends_at"):
            try:
                initial[name] = dt.datetime.fromisoformat(request.GET.get(name, "")).replace(tzinfo=care_team_zone())
            except ValueError:
                continue
        if request.GET.get("nurse", "").isdigit():
            initial["nurse"] = request.GET["nurse"]
        return initial

    def get_urls(self) -> list[URLPattern]:
        roster = admin_views.RosterView.as_view(model_admin=self)
        return [
            path("roster/", self.admin_site.admin_view(roster), name="tasks_app_nurseshift_roster"),
            *super().get_urls(),
        ]


@admin.register(EscalationTask)
class EscalationTaskAdmin(ReadOnlyAdmin):
    """Read-only: tasks move on through the services (the API, the workflows, the worklist's and the board's actions
    in tasks_app/admin_views.py), which record every event. A nurse reaches her own tasks only."""

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
        state = sla_state(warning_at=task.sla_warning_at, breach_at=task.sla_breach_at, now=now)
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
        if task is not None:
            extra_context["row"] = admin_views.task_row(task, user=request.user, now=timezone.now())
            extra_context["links"] = _task_links(task)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        def screen(view: type[admin_views.CareTeamView]) -> Any:
            return self.admin_site.admin_view(view.as_view(model_admin=self))

        return [
            path("worklist/", screen(admin_views.WorklistView), name="tasks_app_escalationtask_worklist"),
            path("board/", screen(admin_views.BoardView), name="tasks_app_escalationtask_board"),
            path(
                "<uuid:task_id>/acknowledge/",
                screen(admin_views.AcknowledgeView),
                name="tasks_app_escalationtask_acknowledge",
            ),
            path("<uuid:task_id>/resolve/", screen(admin_views.ResolveView), name="tasks_app_escalationtask_resolve"),
            path(
                "<uuid:task_id>/reassign/", screen(admin_views.ReassignView), name="tasks_app_escalationtask_reassign"
            ),
            path("<uuid:task_id>/cancel/", screen(admin_views.CancelView), name="tasks_app_escalationtask_cancel"),
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
