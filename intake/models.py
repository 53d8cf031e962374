"""The hospital's ADT feed: every message received, raw, with what became of it (docs/integration.md)."""

from django.db import models
from django.db.models import Q

from care_events.models import Episode, Patient


class AdtSource(models.TextChoices):
    HL7V2 = "HL7V2", "HL7 v2 over MLLP"
    FHIR = "FHIR", "FHIR R4"


class AdtStatus(models.TextChoices):
    APPLIED = "APPLIED", "Applied"
    HELD = "HELD", "Held: waits for its admission"
    ERROR = "ERROR", "Error: an operator fixes and re-applies it"
    REJECTED = "REJECTED", "Rejected: not a message we take"


class AdtMessage(models.Model):
    """One message of the feed, stored in the transaction that applies it (or records why it could not), before
    the sender is acknowledged. Its (sending facility, control id) is unique: a resend finds it and gets the same
    answer, so a message is applied once however often it arrives."""

    Status = AdtStatus
    Source = AdtSource

    source = models.CharField(max_length=8, choices=AdtSource.choices)
    sending_facility = models.CharField(max_length=200, help_text="MSH-4 (FHIR: the API key's name)")
    control_id = models.CharField(max_length=200, help_text="MSH-10 (FHIR: the Bundle's or Encounter's id)")
    message_type = models.CharField(max_length=20, db_index=True, help_text="ADT^A03, Encounter, Bundle")
    event = models.CharField(max_length=8, blank=True, help_text="A01 … A40, or the FHIR event it maps to")
    version = models.CharField(max_length=10, blank=True)
    facility = models.CharField(max_length=200, blank=True, help_text="The CARE_FACILITIES code it was mapped to")
    visit_number = models.CharField(max_length=64, blank=True)
    raw = models.TextField(help_text="The message as received (decoded by its character set), or as corrected")
    received_raw = models.TextField(blank=True, help_text="The message as received, once an operator corrected it")
    status = models.CharField(max_length=10, choices=AdtStatus.choices)
    ack_code = models.CharField(max_length=2, blank=True, help_text="AA, AE or AR")
    error = models.TextField(blank=True)
    error_code = models.PositiveSmallIntegerField(default=0, help_text="HL7 table 0357: 101 required field missing, …")
    error_location = models.CharField(max_length=100, blank=True, help_text="e.g. PID-3, PV1-45, Encounter.period.end")
    effects = models.JSONField(default=list, blank=True, help_text="What applying it changed, in words with ids")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "facility", "visit_number"], name="adt_held_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source", "sending_facility", "control_id"], name="adt_message_once"),
            models.CheckConstraint(condition=Q(status__in=AdtStatus.values), name="adt_status_valid"),
            models.CheckConstraint(condition=Q(source__in=AdtSource.values), name="adt_source_valid"),
        ]

    def __str__(self) -> str:
        return f"ADT message {self.pk} ({self.message_type})"
