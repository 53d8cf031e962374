"""The care domain: patients, their episodes, the outreach to reach them, and the agent's interactions."""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from care_events.choices import Severity
from care_events.facilities import facility_choices
from care_events.validators import validate_e164, validate_timezone


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


# The database's name for "this MRN of this facility exists": a concurrent create that loses the race is told by it.
PATIENT_MRN_UNIQUE = "patient_mrn_unique_per_facility"


class Patient(TimeStampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    phone = models.CharField(max_length=16, validators=[validate_e164], help_text="E.164, e.g. +14155550123")
    timezone = models.CharField(max_length=64, default="America/New_York", validators=[validate_timezone])
    preferred_language = models.CharField(max_length=10, default="en", help_text="BCP 47 tag, e.g. en, es")
    sms_consent = models.BooleanField(default=True, help_text="False once the patient texts STOP.")
    sms_opted_out_at = models.DateTimeField(null=True, blank=True)
    prefers_whatsapp = models.BooleanField(
        default=False, help_text="Text this patient through WhatsApp (a route of SMS) rather than plain SMS."
    )
    # Optional: patients created before MRNs were recorded have neither. An MRN is only unique within the facility
    # that issued it, so the two come together or not at all.
    mrn = models.CharField(max_length=64, blank=True, default="", help_text="The hospital's medical record number.")
    facility = models.CharField(
        max_length=200,
        blank=True,
        default="",
        choices=facility_choices,
        help_text="The facility that issued the MRN: a code of CARE_FACILITIES.",
    )
    # The hospital merged this record into another (HL7 A40): its episodes moved there; the row stays, with its own
    # messages and consent history, and a lookup of its MRN finds the surviving patient.
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_from")

    class Meta:
        ordering = ["last_name", "first_name"]
        # Without it a user (a nurse) reads only the patients of the tasks assigned to her, with their episodes
        # and interactions (care_events/selectors.py).
        permissions = [("view_all_patients", "Can see every patient, episode and interaction")]
        indexes = [models.Index(fields=["phone"], name="patient_phone_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"), name="patient_phone_e164"),
            # Also the lookup's index (GET /patients/?mrn=).
            models.UniqueConstraint(fields=["mrn", "facility"], condition=~Q(mrn=""), name=PATIENT_MRN_UNIQUE),
            models.CheckConstraint(
                condition=Q(mrn="", facility="") | (~Q(mrn="") & ~Q(facility="")),
                name="patient_mrn_with_facility",
            ),
        ]

    def __str__(self) -> str:
        # Only the id: a patient's name is PHI and __str__ ends up in logs and admin messages.
        return f"Patient {self.pk}"


class Condition(models.TextChoices):
    HF = "HF", "Heart failure"
    COPD = "COPD", "COPD"
    AMI = "AMI", "Acute myocardial infarction"
    PNA = "PNA", "Pneumonia"
    CABG = "CABG", "CABG surgery"
    THA_TKA = "THA_TKA", "Hip or knee replacement"
    OTHER = "OTHER", "Other"


class Episode(TimeStampedModel):
    """One hospital stay and the follow-up period after it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="episodes")
    admitted_at = models.DateTimeField()
    discharged_at = models.DateTimeField(null=True, blank=True)
    condition = models.CharField(max_length=10, choices=Condition.choices)
    # A code of CARE_FACILITIES (care_events/facilities.py): patients' messages name its vetted display name.
    facility = models.CharField(max_length=200, choices=facility_choices, help_text="A code of CARE_FACILITIES.")
    # The hospital's own id of the stay (HL7 PV1-19, FHIR Encounter.identifier): unique within the facility. Empty
    # for episodes recorded through the agent's API.
    visit_number = models.CharField(max_length=64, blank=True, default="")
    discharge_disposition = models.CharField(
        max_length=20, blank=True, default="", help_text="Where the patient went (HL7 table 0112: 01 home, 20 expired)"
    )
    # The admission was cancelled (HL7 A11: entered in error): nothing follows from it.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The latest cancellation of this stay's discharge (HL7 A13: the patient stayed). A discharge after it is a new
    # one, with a check-in of its own (care_events.services.episodes).
    discharge_cancelled_at = models.DateTimeField(null=True, blank=True)
    # The patient was admitted again within READMISSION_WINDOW_DAYS of this episode's discharge: that admission.
    readmission = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="readmission_of"
    )

    class Meta:
        ordering = ["-admitted_at"]
        permissions = [("discharge_episode", "Can record a discharge")]
        indexes = [models.Index(fields=["patient", "-admitted_at"], name="episode_patient_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(discharged_at__isnull=True) | Q(discharged_at__gte=models.F("admitted_at")),
                name="episode_discharge_after_admission",
            ),
            models.CheckConstraint(condition=Q(condition__in=Condition.values), name="episode_condition_valid"),
            models.UniqueConstraint(
                fields=["facility", "visit_number"], condition=~Q(visit_number=""), name="episode_visit_unique"
            ),
            models.CheckConstraint(
                condition=Q(cancelled_at__isnull=True) | Q(discharged_at__isnull=True),
                name="episode_cancelled_not_discharged",
            ),
        ]

    def __str__(self) -> str:
        return f"Episode {self.pk} ({self.condition})"


class OutreachChannel(models.TextChoices):
    SMS = "SMS", "SMS"
    VOICE = "VOICE", "Voice"


class OutreachPlanStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    COMPLETED = "COMPLETED", "Completed"
    CANCELLED = "CANCELLED", "Cancelled"


class OutreachPlan(TimeStampedModel):
    """The schedule of check-ins for an episode. At most one plan per episode is open at a time."""

    Status = OutreachPlanStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="outreach_plans")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    channel = models.CharField(max_length=10, choices=OutreachChannel.choices, default=OutreachChannel.SMS)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["episode"], condition=Q(status="ACTIVE"), name="outreach_plan_one_open_per_episode"
            ),
            models.CheckConstraint(
                condition=Q(status__in=OutreachPlanStatus.values), name="outreach_plan_status_valid"
            ),
            models.CheckConstraint(condition=Q(channel__in=OutreachChannel.values), name="outreach_plan_channel_valid"),
        ]

    def __str__(self) -> str:
        return f"Outreach plan {self.pk}"


class OutreachAttemptStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SENT = "SENT", "Sent"
    ANSWERED = "ANSWERED", "Answered"
    NO_ANSWER = "NO_ANSWER", "No answer"
    FAILED = "FAILED", "Failed"
    CANCELLED = "CANCELLED", "Cancelled"


class OutreachAttempt(TimeStampedModel):
    """One try to reach the patient. A clinical and billing record (TCM): attempts are kept, never deleted."""

    Status = OutreachAttemptStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(OutreachPlan, on_delete=models.PROTECT, related_name="attempts")
    attempt_number = models.PositiveSmallIntegerField(default=1)
    channel = models.CharField(max_length=10, choices=OutreachChannel.choices, default=OutreachChannel.SMS)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    scheduled_at = models.DateTimeField()
    attempted_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["plan", "attempt_number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "attempt_number"], name="outreach_attempt_number_unique"),
            models.CheckConstraint(condition=Q(attempt_number__gte=1), name="outreach_attempt_number_positive"),
            models.CheckConstraint(
                condition=Q(status__in=OutreachAttemptStatus.values), name="outreach_attempt_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=OutreachChannel.values), name="outreach_attempt_channel_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Outreach attempt {self.pk} #{self.attempt_number}"


class InteractionStatus(models.TextChoices):
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    ESCALATED = "ESCALATED", "Escalated"
    COMPLETED = "COMPLETED", "Completed"
    ABANDONED = "ABANDONED", "Abandoned"


class AgentInteraction(TimeStampedModel):
    """One conversation between the interaction agent and the patient."""

    Status = InteractionStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="interactions")
    outreach_attempt = models.ForeignKey(
        OutreachAttempt, on_delete=models.PROTECT, null=True, blank=True, related_name="interactions"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    summary = models.TextField(blank=True)
    outcome = models.CharField(max_length=50, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    last_response_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        # The agent's: start an interaction, record answers, raise flags and hand-offs, complete it.
        permissions = [("record_interaction", "Can record an interaction with a patient")]
        indexes = [models.Index(fields=["episode", "-started_at"], name="interaction_episode_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=InteractionStatus.values), name="interaction_status_valid"),
            models.CheckConstraint(
                condition=Q(severity="") | Q(severity__in=Severity.values), name="interaction_severity_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="COMPLETED") | Q(completed_at__isnull=False),
                name="interaction_completed_has_timestamp",
            ),
        ]

    def __str__(self) -> str:
        return f"Interaction {self.pk}"


class InteractionResponse(models.Model):
    """One graded answer from the patient, recorded by the agent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    interaction = models.ForeignKey(AgentInteraction, on_delete=models.PROTECT, related_name="responses")
    question = models.TextField(blank=True, default="", help_text="What the agent asked, if it was a question.")
    text = models.TextField()
    severity = models.CharField(max_length=10, choices=Severity.choices)
    reason_codes = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at"]
        constraints = [
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="response_severity_valid"),
        ]

    def __str__(self) -> str:
        return f"Response {self.pk}"


class MessageHandledHow(models.TextChoices):
    AGENT_RESPONSE = "AGENT_RESPONSE", "The agent recorded a response after it"
    AGENT_COMPLETED = "AGENT_COMPLETED", "The agent completed its interaction"
    AGENT_MARKED = "AGENT_MARKED", "The agent marked it handled"
    NURSE_TASK = "NURSE_TASK", "A nurse task was made for it"


class PatientMessage(models.Model):
    """Something the patient texted us that is not a keyword (STOP, START, HELP): what the patient said, recorded
    against the conversation it belongs to, for the interaction agent to read."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    interaction = models.ForeignKey(AgentInteraction, on_delete=models.PROTECT, related_name="patient_messages")
    text = models.TextField()
    received_at = models.DateTimeField(default=timezone.now)
    provider_message_id = models.CharField(
        max_length=64, unique=True, help_text="The provider's id of the inbound message (a retried webhook finds it)."
    )
    # The agent's cursor (GET patient-messages/?after=): numbered under a lock held until the message's transaction
    # commits (care_events.services.replies), so numbers become visible in order and a reader never skips one.
    seq = models.BigIntegerField(unique=True, editable=False, help_text="Order of arrival: 1, 2, 3...")
    red_flag = models.BooleanField(
        default=False, help_text="It holds a phrase of REPLY_RED_FLAG_PHRASES: a HIGH nurse task at once."
    )
    handled_at = models.DateTimeField(
        null=True, blank=True, help_text="When someone acted on it (docs/api.md#a-patients-text); empty: nobody yet."
    )
    handled_how = models.CharField(max_length=20, blank=True, choices=MessageHandledHow.choices)

    class Meta:
        ordering = ["received_at"]

    def __str__(self) -> str:
        return f"Patient message {self.pk}"


# The platform's rows live in their own packages but belong to this app: importing them here is what registers
# them with Django (their tables and migrations are care_events').
from care_events.platform.api_clients.models import ApiToken, IdempotencyRecord  # noqa: E402, F401
from care_events.platform.audit.anonymous import AnonymousApiTraffic  # noqa: E402, F401
from care_events.platform.audit.models import AuditEntry  # noqa: E402, F401
from care_events.platform.bus.models import Event, HandlerRun, Timer  # noqa: E402, F401
from care_events.platform.webhooks.models import WebhookDelivery, WebhookSubscription  # noqa: E402, F401
