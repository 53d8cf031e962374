import uuid
from collections.abc import Collection

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeBoundary, RangeOperators
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import Func, Q

from care_events.choices import Channel, Severity
from care_events.models import TimeStampedModel
from care_events.validators import validate_e164, validate_timezone
from tasks_app.care_team import shift_window_label

# The care team of a nurse and of a task: round-robin assignment happens within a team (docs/scaling.md).
DEFAULT_CARE_TEAM = "default"


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Nurse(TimeStampedModel):
    """A care manager who receives escalation tasks. Login, name and password live on the linked user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="nurse")
    phone = models.CharField(max_length=16, validators=[validate_e164], help_text="E.164, e.g. +14155550123")
    email = models.EmailField()
    preferred_channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SMS)
    fallback_channels = ArrayField(
        models.CharField(max_length=10, choices=Channel.choices),
        default=list,
        blank=True,
        help_text="Channels tried in turn when an urgent alert fails on the preferred one; empty: the default "
        "chain (NOTIFICATION_FALLBACK_CHAIN).",
    )
    timezone = models.CharField(
        max_length=64,
        default="America/New_York",
        validators=[validate_timezone],
        help_text="IANA name; due times in her messages are shown in it.",
    )
    is_active = models.BooleanField(default=True, help_text="Inactive nurses are never assigned tasks.")
    care_team = models.CharField(
        max_length=50,
        default=DEFAULT_CARE_TEAM,
        help_text="She is assigned the tasks of this team only (CARE_TEAM_BY_FACILITY maps facilities to teams).",
    )
    is_supervisor = models.BooleanField(
        default=False,
        help_text="Charge nurse: alerted at every SLA breach and when a task finds nobody on shift.",
    )
    last_assigned_at = models.DateTimeField(null=True, blank=True, editable=False)
    max_open_tasks = models.PositiveSmallIntegerField(
        default=10, help_text="Open (assigned or acknowledged) tasks this nurse may hold at once."
    )

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        indexes = [
            # Round-robin scans active nurses oldest-assignment first.
            models.Index(fields=["care_team", "last_assigned_at"], condition=Q(is_active=True), name="nurse_rr_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"), name="nurse_phone_e164"),
            models.CheckConstraint(condition=Q(max_open_tasks__gte=1), name="nurse_max_open_tasks_positive"),
            models.CheckConstraint(condition=Q(preferred_channel__in=Channel.values), name="nurse_channel_valid"),
        ]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


SHIFT_OVERLAP_MESSAGE = "This shift overlaps another shift of the same nurse."


class NurseShift(models.Model):
    nurse = models.ForeignKey(Nurse, on_delete=models.CASCADE, related_name="shifts")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # Kept by task assignment with F() + 1 inside its transaction (the seed kept it with a trigger).
    tasks_assigned = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="shift_window_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start"),
            # Half-open ranges: a shift ending at 15:00 and the next starting at 15:00 do not overlap.
            ExclusionConstraint(
                name="shift_no_overlap_per_nurse",
                expressions=[
                    (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("nurse", RangeOperators.EQUAL),
                ],
                violation_error_message=SHIFT_OVERLAP_MESSAGE,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nurse} {shift_window_label(self.starts_at, self.ends_at)}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "A shift must end after it starts."})

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        """The overlap constraint's error names the shift it clashes with (nurse, start-end in the care team's
        zone), so the person typing knows which one to change."""
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            clash = self._clashing_shift()
            if clash is None or NON_FIELD_ERRORS not in getattr(error, "error_dict", {}):
                raise
            named = f"This shift overlaps {clash}. A nurse works one shift at a time: change one of them."
            error.error_dict[NON_FIELD_ERRORS] = [
                ValidationError(named, code="shift_overlap") if item.message == SHIFT_OVERLAP_MESSAGE else item
                for item in error.error_dict[NON_FIELD_ERRORS]
            ]
            raise

    def _clashing_shift(self) -> "NurseShift | None":
        if not (self.nurse_id and self.starts_at and self.ends_at):
            return None
        return (
            NurseShift.objects.filter(nurse_id=self.nurse_id, starts_at__lt=self.ends_at, ends_at__gt=self.starts_at)
            .exclude(pk=self.pk)
            .select_related("nurse__user")
            .order_by("starts_at")
            .first()
        )


class Priority(models.TextChoices):
    LOW = "LOW", "Low"
    NORMAL = "NORMAL", "Normal"
    HIGH = "HIGH", "High"
    URGENT = "URGENT", "Urgent"


class ActionType(models.TextChoices):
    NURSE_CALLBACK_2H = "NURSE_CALLBACK_2H", "Nurse callback within 2 h"
    NURSE_CALLBACK_24H = "NURSE_CALLBACK_24H", "Nurse callback within 24 h"
    URGENT_HANDOFF = "URGENT_HANDOFF", "Urgent hand-off"
    EMERGENCY_GUIDANCE = "EMERGENCY_GUIDANCE", "Emergency guidance given (follow-up)"
    MEDICATION_REVIEW = "MEDICATION_REVIEW", "Medication review"
    SCHEDULE_FOLLOWUP = "SCHEDULE_FOLLOWUP", "Schedule follow-up"
    CALL_PATIENT_NO_ANSWER = "CALL_PATIENT_NO_ANSWER", "Call patient: check-in not answered"


class TaskStatus(models.TextChoices):
    OPEN = "OPEN", "Open"
    ASSIGNED = "ASSIGNED", "Assigned"
    ACKNOWLEDGED = "ACKNOWLEDGED", "Acknowledged"
    RESOLVED = "RESOLVED", "Resolved"
    CANCELLED = "CANCELLED", "Cancelled"


# A task is open until it is resolved or cancelled: the one spelling of "open", used by queries and the index.
OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.ASSIGNED, TaskStatus.ACKNOWLEDGED)


class EscalationTask(TimeStampedModel):
    Status = TaskStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    episode = models.ForeignKey("care_events.Episode", on_delete=models.PROTECT, related_name="tasks")
    patient = models.ForeignKey("care_events.Patient", on_delete=models.PROTECT, related_name="tasks")
    interaction = models.ForeignKey(
        "care_events.AgentInteraction", on_delete=models.PROTECT, null=True, blank=True, related_name="tasks"
    )
    care_team = models.CharField(
        max_length=50, default=DEFAULT_CARE_TEAM, editable=False, help_text="From the episode's facility."
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    reason_codes = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    action_type = models.CharField("action", max_length=30, choices=ActionType.choices)
    sla_minutes = models.PositiveIntegerField("time allowed (minutes)")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    assigned_to = models.ForeignKey(Nurse, on_delete=models.PROTECT, null=True, blank=True, related_name="tasks")
    assigned_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField("what was done", blank=True)
    resolution_outcome = models.ForeignKey(
        "ResolutionOutcome",
        verbose_name="outcome",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        help_text="The structured outcome it was resolved with (reporting counts them).",
    )
    ack_code = models.CharField(
        "acknowledgement code",
        max_length=8,
        blank=True,
        editable=False,
        help_text="The code the assignee replies to her alert with to acknowledge it (ACK <code>): new at each "
        "assignment, unique among her open tasks (tasks_app/services/acknowledgement.py).",
    )
    source_key = models.CharField(
        "what created it",
        max_length=100,
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="What created the task (a response, an unanswered check-in): one task per source.",
    )
    sla_warning_at = models.DateTimeField("warning at", help_text="75 % of the SLA after creation.")
    sla_breach_at = models.DateTimeField("due at", help_text="100 % of the SLA after creation.")

    class Meta:
        ordering = ["-created_at"]
        # The task actions a role may take (care_events/platform/roles.py). Without view_all_tasks a user sees only the
        # tasks assigned to her own nurse profile (a nurse) or caused by her interactions (the agent).
        permissions = [
            ("view_all_tasks", "Can see every escalation task"),
            ("acknowledge_task", "Can acknowledge a task"),
            ("resolve_task", "Can resolve a task"),
            ("reassign_task", "Can reassign a task"),
            ("cancel_task", "Can cancel a task"),
            # The care-quality reports (reports/, docs/reports.md): figures over every task, episode and contact.
            ("view_reports", "Can see the care-quality reports"),
        ]
        indexes = [
            models.Index(fields=["assigned_to", "status"], name="task_assignee_status_idx"),
            models.Index(fields=["status", "-created_at"], name="task_status_recent_idx"),
            models.Index(
                fields=["sla_breach_at"],
                condition=Q(status__in=OPEN_TASK_STATUSES),
                name="task_open_breach_idx",
            ),
            # The board's "breaches in the last 24 hours" reads closed tasks too: a range of breach times.
            models.Index(fields=["sla_breach_at"], name="task_breach_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=TaskStatus.values), name="task_status_valid"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="task_severity_valid"),
            models.CheckConstraint(condition=Q(priority__in=Priority.values), name="task_priority_valid"),
            models.CheckConstraint(condition=Q(action_type__in=ActionType.values), name="task_action_type_valid"),
            models.CheckConstraint(condition=Q(sla_minutes__gte=1), name="task_sla_minutes_positive"),
            models.CheckConstraint(
                condition=Q(sla_warning_at__lte=models.F("sla_breach_at")), name="task_warning_before_breach"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["ASSIGNED", "ACKNOWLEDGED"])
                | (Q(assigned_to__isnull=False) & Q(assigned_at__isnull=False)),
                name="task_assigned_has_assignee",
            ),
            models.CheckConstraint(
                condition=~Q(status="RESOLVED") | Q(resolved_at__isnull=False),
                name="task_resolved_has_timestamp",
            ),
            models.CheckConstraint(
                condition=~Q(status="CANCELLED") | Q(cancelled_at__isnull=False),
                name="task_cancelled_has_timestamp",
            ),
        ]

    def __str__(self) -> str:
        return f"Task {self.pk} ({self.severity}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TASK_STATUSES


class HandOverReason(models.TextChoices):
    """Why a task changed hands: the `reason` of its `task/reassigned` and `task/handed_back` events, which are its
    history (tasks_app.selectors.task_holder_history; docs/handover.md)."""

    ROUND_ROBIN = "ROUND_ROBIN", "Round-robin"
    STAFF = "STAFF", "Reassigned by staff"
    SHIFT_ENDED = "SHIFT_ENDED", "Shift ended"
    NURSE_DEACTIVATED = "NURSE_DEACTIVATED", "Nurse deactivated"
    NOT_ACKNOWLEDGED = "NOT_ACKNOWLEDGED", "Not acknowledged"
    UNREACHABLE = "UNREACHABLE", "Nurse could not be reached"


# --- What a nurse did: notes and call attempts on an open task, the outcome she resolved it with -----------------


class ResolutionOutcome(models.Model):
    """A structured outcome a task is resolved with ("Advice given", "Referred to ED"): the care team's list, kept in
    admin (seeded by migration 0006), counted by reporting. Retired outcomes stay on the tasks that used them."""

    code = models.SlugField(max_length=40, unique=True, help_text="Its name in the API and in reports.")
    label = models.CharField(max_length=80, unique=True, help_text="What the nurse reads and ticks.")
    is_active = models.BooleanField(default=True, help_text="Offered when resolving a task.")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in the list (smallest first).")

    class Meta:
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label


class ResolutionPhrase(models.Model):
    """A phrase nurses reuse in resolution notes ("Reviewed medication list with the patient."), kept in admin."""

    text = models.CharField(max_length=200, unique=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "text"]

    def __str__(self) -> str:
        return self.text


class CallOutcome(models.TextChoices):
    NO_ANSWER = "NO_ANSWER", "No answer"
    LEFT_VOICEMAIL = "LEFT_VOICEMAIL", "Left a voicemail"
    SPOKE_WITH_PATIENT = "SPOKE_WITH_PATIENT", "Spoke with the patient"
    SPOKE_WITH_CAREGIVER = "SPOKE_WITH_CAREGIVER", "Spoke with a caregiver"


class TaskNote(models.Model):
    """A note or a call attempt on a task, written while it is open without resolving it (tasks_app/services/
    notes.py). Append-only: the task's timeline shows every one."""

    task = models.ForeignKey(EscalationTask, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    call_outcome = models.CharField(
        max_length=20, choices=CallOutcome.choices, blank=True, help_text="Empty: a note, not a call attempt."
    )
    retry_at = models.DateTimeField(null=True, blank=True, help_text="When she means to call again.")
    text = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["task", "created_at"], name="tasknote_task_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(call_outcome="") | ~Q(text=""), name="tasknote_says_something"),
            models.CheckConstraint(
                condition=Q(call_outcome="") | Q(call_outcome__in=CallOutcome.values), name="tasknote_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Note {self.pk} on task {self.task_id}"
