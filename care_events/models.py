import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from care_events.validators import validate_e164, validate_timezone


class Severity(models.TextChoices):
    """The agent's grading of a response; also the severity of an escalation task."""

    LOW = "LOW", "Low"
    MODERATE = "MODERATE", "Moderate"
    HIGH = "HIGH", "High"
    CRITICAL = "CRITICAL", "Critical"

    @classmethod
    def rank(cls, value: str) -> int:
        """LOW < MODERATE < HIGH < CRITICAL; an empty severity ranks below LOW."""
        return cls.values.index(value) + 1 if value else 0

    @classmethod
    def escalates(cls, value: str) -> bool:
        return cls.rank(value) >= cls.rank(cls.MODERATE)


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


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

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["phone"], name="patient_phone_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"), name="patient_phone_e164"),
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
    facility = models.CharField(max_length=200)

    class Meta:
        ordering = ["-admitted_at"]
        indexes = [models.Index(fields=["patient", "-admitted_at"], name="episode_patient_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(discharged_at__isnull=True) | Q(discharged_at__gte=models.F("admitted_at")),
                name="episode_discharge_after_admission",
            ),
            models.CheckConstraint(condition=Q(condition__in=Condition.values), name="episode_condition_valid"),
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
    max_attempts = models.PositiveSmallIntegerField(default=3)

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


# --- The event log (outbox), its handler runs, and durable timers -------------------------------------------
# PostgreSQL is the source of truth; Celery only carries ids of these rows (ARCHITECTURE.md, durability model).


class Event(models.Model):
    """One emitted event, written in the emitter's transaction. Its data are ids and codes, never PHI."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=64, db_index=True)
    data = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} {self.pk}"


class RunStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"


class HandlerRun(models.Model):
    """One (event, handler) pair. The unique pair and the claim on PENDING make each succeed at most once."""

    Status = RunStatus

    id = models.BigAutoField(primary_key=True)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="runs")
    handler = models.CharField(max_length=64)
    queue = models.CharField(max_length=20, default="default")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The relay's scan: pending runs whose message may have been lost.
            models.Index(fields=["next_attempt_at"], condition=Q(status="PENDING"), name="run_pending_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "handler"], name="run_one_per_event_and_handler"),
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="run_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.handler} for {self.event_id} ({self.status})"


class TimerKind(models.TextChoices):
    SLA_WARNING = "SLA_WARNING", "SLA warning (75 %)"
    SLA_BREACH = "SLA_BREACH", "SLA breach (100 %)"
    CHECKIN_DUE = "CHECKIN_DUE", "Check-in due"
    CHECKIN_NO_ANSWER = "CHECKIN_NO_ANSWER", "Check-in response window over"


class Timer(models.Model):
    """A durable timer. Fired exactly once (claimed by a conditional update), or cancelled (a state change)."""

    Kind = TimerKind

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=20, choices=TimerKind.choices)
    subject_id = models.UUIDField(help_text="The task, episode or outreach attempt the timer is about.")
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(fired_at__isnull=True, cancelled_at__isnull=True),
                name="timer_due_idx",
            ),
            models.Index(fields=["subject_id"], name="timer_subject_idx"),
        ]
        constraints = [
            # Scheduling the same timer twice (a redelivered event) finds the first row.
            models.UniqueConstraint(fields=["kind", "subject_id"], name="timer_one_per_kind_and_subject"),
            models.CheckConstraint(condition=Q(kind__in=TimerKind.values), name="timer_kind_valid"),
            models.CheckConstraint(
                condition=Q(fired_at__isnull=True) | Q(cancelled_at__isnull=True),
                name="timer_fired_or_cancelled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_id} due {self.due_at:%Y-%m-%d %H:%M:%S}"


# --- The API's idempotency records ----------------------------------------------------------------------------


class IdempotencyRecord(models.Model):
    """One POST sent with an `Idempotency-Key`, and the response it got (care_events/api/idempotency.py).

    The row is inserted in the same transaction as the request's side effect, so it exists if and only if the
    side effect committed; a repeat of the request finds it and gets the stored response instead of a second run.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and JSON body.")
    status_code = models.PositiveSmallIntegerField(null=True)
    # Text, not jsonb: jsonb reorders keys, and a replay should be the very bytes of the first answer.
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_one_per_user_and_key")]

    def __str__(self) -> str:
        return f"Idempotency record {self.pk}"


# --- API keys ---------------------------------------------------------------------------------------------


class ApiToken(models.Model):
    """A user's API key, stored as its SHA-256 digest only (care_events/api/tokens.py): a database dump, a backup
    or an admin screen never holds a usable key. One per user; rotating replaces it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=8, editable=False, help_text="The key's first characters, to tell keys apart; not usable alone."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"API token {self.prefix}… of {self.user}"
