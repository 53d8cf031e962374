"""The bus's rows: the event log (outbox), one run per (event, handler), and durable timers.

PostgreSQL is the source of truth; Celery only carries the ids of these rows (docs/architecture.md#durability).
These models belong to the care_events app (its `models` module imports them), so their tables and migrations
stay care_events'.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Event(models.Model):
    """One emitted event, written in the emitter's transaction. Its data are ids and codes, never PHI."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=64, db_index=True)
    data = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    # The user whose request caused it (an id, kept if the account goes); null for the system's own work.
    actor = models.IntegerField(null=True, blank=True, help_text="The id of the user who acted; empty: the system.")
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
    REPLY_REVIEW = "REPLY_REVIEW", "A patient's text nobody acted on: a nurse reviews it"
    ACK_REMINDER = "ACK_REMINDER", "Not acknowledged: remind the assignee"
    ACK_ESCALATION = "ACK_ESCALATION", "Not acknowledged: hand the task on"
    ALERT_FALLBACK = "ALERT_FALLBACK", "Urgent alert not out yet: try the next channel"
    ALERT_UNREACHABLE = "ALERT_UNREACHABLE", "Urgent alert reached nobody: tell the charge nurse"


class TimerQuerySet(models.QuerySet["Timer"]):
    def pending(self) -> "TimerQuerySet":
        """Neither fired, cancelled nor given up: the rows the sweep looks at (the partial index timer_due_idx)."""
        return self.filter(fired_at=None, cancelled_at=None, failed_at=None)


class Timer(models.Model):
    """A durable timer. Fired exactly once (claimed by a conditional update), cancelled (a state change), or given
    up after its attempts (care_events.platform.bus.retry.TIMERS)."""

    Kind = TimerKind

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=20, choices=TimerKind.choices)
    subject_id = models.UUIDField(help_text="The task, episode or outreach attempt the timer is about.")
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when its handler failed on every attempt; re-arm it from the list."
    )
    published_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its Celery message was published: at scheduling if due within TIMER_HORIZON_SECONDS, "
        "otherwise by the horizon job once it comes that close. Empty: a row only, no message yet.",
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TimerQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(fired_at__isnull=True, cancelled_at__isnull=True, failed_at__isnull=True),
                name="timer_due_idx",
            ),
            # The horizon job's scan: pending timers with no message yet, soonest first.
            models.Index(
                fields=["due_at"],
                condition=Q(
                    published_at__isnull=True, fired_at__isnull=True, cancelled_at__isnull=True, failed_at__isnull=True
                ),
                name="timer_unpublished_idx",
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
            models.CheckConstraint(
                condition=Q(failed_at__isnull=True) | (Q(fired_at__isnull=True) & Q(cancelled_at__isnull=True)),
                name="timer_failed_is_final",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_id} due {self.due_at:%Y-%m-%d %H:%M:%S}"
