from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from care_events.models import AgentInteraction, Episode, InteractionResponse, OutreachAttempt, OutreachPlan, Patient
from care_events.platform.accounts import accounts_admin_register
from care_events.platform.admin import ReadOnlyAdmin

# The platform's admin pages live beside their models; importing them here registers them (admin autodiscovery
# imports each app's `admin` module only).
from care_events.platform.api_clients import admin as api_clients_admin  # noqa: F401
from care_events.platform.bus import admin as bus_admin  # noqa: F401
from care_events.platform.webhooks import admin as webhooks_admin  # noqa: F401
from care_events.selectors import visible_to

# Users, roles and authenticators: least privilege and no secret shown (care_events/platform/accounts.py).
accounts_admin_register(admin.site)


class PatientScopedAdmin(admin.ModelAdmin):
    """Rows of patients: all of them with `care_events.view_all_patients` (charge nurses, administrators), otherwise
    those of the patients whose tasks are assigned to her, as in the API (care_events/selectors.py: visible_to)."""

    patient_path = "pk"  # from a row to its patient's id

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return visible_to(super().get_queryset(request), user=request.user, patient=self.patient_path)  # type: ignore[arg-type]


# The patient, episode, task and interaction pages link to each other. Tasks are tasks_app's: reached by their admin
# URL names and the reverse relation, so this app does not import that one.
def _search_link(url_name: str, query: object, label: str) -> str:
    return format_html('<a href="{}?q={}">{}</a>', reverse(url_name), query, label)


def _task_links(tasks: object) -> str:
    rows = [
        (reverse("admin:tasks_app_escalationtask_change", args=[task.pk]), task.get_status_display(), task.severity)
        for task in tasks  # type: ignore[attr-defined]
    ]
    return format_html_join(", ", '<a href="{}">{} ({})</a>', rows) or "—"


class EpisodeInline(admin.TabularInline):
    model = Episode
    fields = ("condition", "facility", "admitted_at", "discharged_at")
    extra = 0
    show_change_link = True


@admin.register(Patient)
class PatientAdmin(PatientScopedAdmin):
    list_display = (
        "last_name",
        "first_name",
        "date_of_birth",
        "timezone",
        "preferred_language",
        "sms_consent",
    )
    list_filter = ("sms_consent", "preferred_language")
    search_fields = ("last_name", "first_name", "phone", "=mrn", "=id")
    readonly_fields = ("sms_opted_out_at", "merged_into", "created_at", "updated_at", "tasks")
    inlines = (EpisodeInline,)

    @admin.display(description="Escalation tasks")
    def tasks(self, patient: Patient) -> str:
        return _search_link("admin:tasks_app_escalationtask_changelist", patient.pk, "This patient's tasks")


class OutreachPlanInline(admin.TabularInline):
    model = OutreachPlan
    fields = ("status", "channel", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Episode)
class EpisodeAdmin(PatientScopedAdmin):
    patient_path = "patient_id"
    list_display = ("id", "patient", "condition", "facility", "admitted_at", "discharged_at", "readmitted")
    # Readmitted: admitted again within READMISSION_WINDOW_DAYS of this discharge (the ADT feed marks it).
    list_filter = ("condition", "facility", ("readmission", admin.EmptyFieldListFilter))
    search_fields = ("=id", "=patient__id", "patient__last_name", "facility")
    date_hierarchy = "discharged_at"
    autocomplete_fields = ("patient",)
    list_select_related = ("patient",)
    inlines = (OutreachPlanInline,)
    # The hospital's feed writes these (intake/): the visit number, the disposition, a cancelled admission or
    # discharge and the readmission that followed.
    readonly_fields = (
        "related",
        "visit_number",
        "discharge_disposition",
        "cancelled_at",
        "discharge_cancelled_at",
        "readmission",
    )

    @admin.display(description="Readmitted", boolean=True)
    def readmitted(self, episode: Episode) -> bool:
        return episode.readmission_id is not None

    @admin.display(description="Related")
    def related(self, episode: Episode) -> str:
        if episode.pk is None:
            return "—"
        return format_html(
            "{} · {} · {}",
            format_html(
                '<a href="{}">Patient</a>', reverse("admin:care_events_patient_change", args=[episode.patient_id])
            ),
            _search_link("admin:tasks_app_escalationtask_changelist", episode.pk, "Tasks"),
            _search_link("admin:care_events_agentinteraction_changelist", episode.pk, "Interactions"),
        )


class OutreachAttemptInline(admin.TabularInline):
    model = OutreachAttempt
    fields = ("attempt_number", "channel", "status", "scheduled_at", "attempted_at", "answered_at", "outcome")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(OutreachPlan)
class OutreachPlanAdmin(PatientScopedAdmin, ReadOnlyAdmin):
    patient_path = "episode__patient_id"
    list_display = ("id", "episode", "status", "channel", "created_at")
    list_filter = ("status", "channel")
    search_fields = ("=id", "=episode__id")
    inlines = (OutreachAttemptInline,)


@admin.register(OutreachAttempt)
class OutreachAttemptAdmin(PatientScopedAdmin, ReadOnlyAdmin):
    patient_path = "plan__episode__patient_id"
    list_display = ("id", "plan", "attempt_number", "channel", "status", "scheduled_at", "attempted_at")
    list_filter = ("status", "channel")
    search_fields = ("=id", "=plan__id", "=plan__episode__id")


class InteractionResponseInline(admin.TabularInline):
    model = InteractionResponse
    fields = ("received_at", "severity", "reason_codes", "question", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(AgentInteraction)
class AgentInteractionAdmin(PatientScopedAdmin, ReadOnlyAdmin):
    patient_path = "episode__patient_id"
    list_display = ("id", "episode", "status", "severity", "started_at", "completed_at")
    list_filter = ("status", "severity")
    search_fields = ("=id", "=episode__id")
    date_hierarchy = "started_at"
    inlines = (InteractionResponseInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "tasks"]

    @admin.display(description="Escalation tasks")
    def tasks(self, interaction: AgentInteraction) -> str:
        return _task_links(interaction.tasks.all())  # type: ignore[attr-defined]
