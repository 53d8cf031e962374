"""The interface's log in admin: every message of the feed, its parsed fields, what it changed, and for a message
held or in error, *Re-apply* (after a fix of the facility list or the records) or a corrected text."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from care_events.platform.admin import ReadOnlyAdmin
from intake import hl7v2
from intake.models import AdtMessage, AdtSource, AdtStatus
from intake.services import adt_message_correct, adt_message_reapply

# The fields an operator reads first, named as HL7 people name them.
FIELD_NAMES = {
    "MSH-4": "sending facility",
    "MSH-7": "message time",
    "MSH-9": "message type",
    "MSH-10": "control id",
    "MSH-12": "version",
    "MSH-18": "character set",
    "EVN-2": "recorded",
    "EVN-6": "occurred",
    "PID-3": "patient identifiers (MRN)",
    "PID-5": "name",
    "PID-7": "date of birth",
    "PID-13": "phone",
    "PID-15": "language",
    "MRG-1": "prior patient identifier",
    "PV1-2": "patient class",
    "PV1-3": "assigned location",
    "PV1-19": "visit number",
    "PV1-36": "discharge disposition",
    "PV1-44": "admitted",
    "PV1-45": "discharged",
    "PV2-3": "admit reason",
    "DG1-3": "diagnosis",
}


class CorrectionForm(forms.ModelForm):
    class Meta:
        model = AdtMessage
        fields = ("raw",)
        widgets = {"raw": forms.Textarea(attrs={"rows": 12, "cols": 120, "style": "font-family: monospace"})}


@admin.register(AdtMessage)
class AdtMessageAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "message_type", "status", "ack_code", "facility", "sending_facility", "control_id")
    list_filter = ("status", "source", "event", "facility", "sending_facility", "received_at")
    date_hierarchy = "received_at"
    search_fields = ("=control_id", "=visit_number")
    list_select_related = ("patient",)
    actions = ("reapply",)
    form = CorrectionForm
    fieldsets = (
        (None, {"fields": ("status", "ack_code", "error", "error_location", "effects_list", "parsed")}),
        ("Message", {"fields": ("raw", "received_raw")}),
        (
            "Record",
            {
                "fields": (
                    "source",
                    "sending_facility",
                    "control_id",
                    "message_type",
                    "event",
                    "version",
                    "facility",
                    "visit_number",
                    "patient",
                    "episode",
                    "received_at",
                    "applied_at",
                    "attempts",
                )
            },
        ),
    )

    @staticmethod
    def _correctable(obj: AdtMessage | None) -> bool:
        return obj is not None and obj.source == AdtSource.HL7V2 and obj.status in (AdtStatus.ERROR, AdtStatus.HELD)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # A message in error may be corrected (its text as received is kept); any other is a record, read-only.
        if isinstance(obj, AdtMessage) and self._correctable(obj):
            return admin.ModelAdmin.has_change_permission(self, request, obj)
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        fields = [*super().get_readonly_fields(request, obj), "effects_list", "parsed"]
        if isinstance(obj, AdtMessage) and self._correctable(obj) and self.has_change_permission(request, obj):
            fields.remove("raw")
        return fields

    def save_model(self, request: HttpRequest, obj: AdtMessage, form: forms.ModelForm, change: bool) -> None:
        try:
            row = adt_message_correct(message_id=obj.pk, raw=form.cleaned_data["raw"])
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        level = messages.SUCCESS if row.status == AdtStatus.APPLIED else messages.WARNING
        self.message_user(request, f"Corrected and applied again: {row.get_status_display()}.", level)

    @admin.display(description="effects")
    def effects_list(self, obj: AdtMessage) -> str:
        if not obj.effects:
            return "-"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((e,) for e in obj.effects)))

    @admin.display(description="parsed")
    def parsed(self, obj: AdtMessage) -> str:
        """Each segment's non-empty fields, unescaped, with the names of those the feed maps."""
        if obj.source != AdtSource.HL7V2:
            return "-"
        try:
            message = hl7v2.parse(obj.raw)
        except hl7v2.UnreadableMessage as exc:
            return str(exc)
        rows = []
        for segment in message:
            name = str(segment[0])
            for index in range(1, len(segment)):
                # python-hl7 numbers MSH's fields as the standard does (MSH-1 is the field separator itself).
                value = str(segment[index]) if name == "MSH" and index <= 2 else message.unescape(str(segment[index]))
                if value:
                    label = f"{name}-{index}"
                    rows.append((label, FIELD_NAMES.get(label, ""), value))
        return format_html(
            "<table><thead><tr><th>field</th><th>meaning</th><th>value</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.action(description="Re-apply the selected held or failed messages")
    def reapply(self, request: HttpRequest, queryset: QuerySet[AdtMessage]) -> None:
        outcomes: dict[str, int] = {}
        for pk in queryset.filter(status__in=[AdtStatus.ERROR, AdtStatus.HELD]).values_list("pk", flat=True):
            row = adt_message_reapply(message_id=pk)
            outcomes[row.status] = outcomes.get(row.status, 0) + 1
        summary = ", ".join(f"{count} {status.lower()}" for status, count in sorted(outcomes.items())) or "none"
        self.message_user(request, f"Re-applied: {summary}.", messages.SUCCESS)
