import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from care_events.choices import Channel, NotificationType


class NotificationStatus(models.TextChoices):
    """Status only moves forward: PENDING → SENT → DELIVERED → READ, or to FAILED / CANCELLED."""

    PENDING = "PENDING", "Pending"
    SENT = "SENT", "Sent"
    DELIVERED = "DELIVERED", "Delivered"
    READ = "READ", "Read"
    FAILED = "FAILED", "Failed"
    CANCELLED = "CANCELLED", "Cancelled"


class GiveUpReason(models.TextChoices):
    """Why a message was given up before it was sent (CANCELLED, this in its error_code): it was no longer worth
    sending when a try was about to start (notifications.services.delivery.give_up_reason). CANCELLED, not FAILED:
    nothing failed, so nothing falls back to another channel."""

    TASK_CLOSED = "task_closed", "Its task was resolved or cancelled"
    REASSIGNED = "reassigned", "Its task was handed to someone else"
    ACKNOWLEDGED = "acknowledged", "The nurse acknowledged the task already"
    BREACH_DUE = "breach_due", "An SLA warning whose breach has come"
    WINDOW_CLOSED = "window_closed", "A check-in whose response window closed"
    EXPIRED = "expired", "Past the message's lifetime"
    DELIVERED_ELSEWHERE = "delivered_elsewhere", "Another attempt of the alert reached the nurse"


# Channels whose provider never reports delivery (no receipts from an ESP or a push service here): the provider
# taking the message is the best news there will be, so SENT on them counts as reached.
NO_DELIVERY_REPORTS = (Channel.EMAIL, Channel.PUSH)


def reached_q() -> Q:
    """Rows that reached their recipient: delivered or read, or taken by a provider that never reports more."""
    S = NotificationStatus
    return Q(status__in=(S.DELIVERED, S.READ)) | Q(status=S.SENT, channel__in=NO_DELIVERY_REPORTS)


class NotificationLog(models.Model):
    """One message to one recipient, written before any provider is called (the audit trail of every send)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=20, choices=NotificationType.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)

    recipient_nurse = models.ForeignKey(
        "tasks_app.Nurse", on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    recipient_patient = models.ForeignKey(
        "care_events.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    task = models.ForeignKey(
        "tasks_app.EscalationTask",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    episode = models.ForeignKey(
        "care_events.Episode", on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    patient = models.ForeignKey(
        "care_events.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The patient the message is about (the recipient may be a nurse).",
    )

    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()

    provider = models.CharField(max_length=30, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)
    urgent = models.BooleanField(default=False, help_text="Delivered through the urgent queue.")
    whatsapp = models.BooleanField(default=False, help_text="Sent by the WhatsApp route of the SMS channel.")
    replaces = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        help_text="The failed notification this one replaces: a fallback on the next channel, or a re-send.",
    )
    alert = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        related_name="chain",
        help_text="The alert this row is an attempt of: the first row of its chain (itself for the first). A "
        "fallback copy and a re-send join the chain of the row they replace; the nurse sees the chain as one alert.",
    )
    sent_late = models.BooleanField(
        default=False,
        help_text="Sent over NOTIFICATION_FALLBACK_AFTER_SECONDS after its alert's first row; its body says so.",
    )
    deadline = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Transient failures are retried until then (the message's lifetime); empty: while its task is open.",
    )
    provider_status = models.CharField(
        max_length=20, blank=True, help_text="The provider's last reported status (e.g. Twilio's undelivered)."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the next delivery attempt may start: a retry's backoff, or the lease of the attempt in progress.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    in_doubt_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when a provider call starts and cleared once the provider answered; still set on the next "
        "attempt, the message may already have left, so the provider is asked before it is sent again.",
    )

    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    dedupe_key = models.CharField(
        max_length=200, unique=True, help_text="One row per logical message: a repeated send finds this row."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # auto_now replaces the seed's updated_at trigger; bulk .update() calls set it explicitly.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["recipient_nurse", "-created_at"], name="notif_nurse_recent_idx"),
            models.Index(fields=["recipient_patient", "-created_at"], name="notif_patient_recent_idx"),
            models.Index(fields=["task", "created_at"], name="notif_task_idx"),
            models.Index(fields=["next_attempt_at"], condition=Q(status="PENDING"), name="notif_pending_idx"),
            # Reconciliation: messages the provider took whose final status never came back.
            models.Index(fields=["sent_at"], condition=Q(status="SENT"), name="notif_sent_unconfirmed_idx"),
            models.Index(
                fields=["provider", "provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="notif_provider_msg_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(recipient_nurse__isnull=False) & Q(recipient_patient__isnull=True))
                | (Q(recipient_nurse__isnull=True) & Q(recipient_patient__isnull=False)),
                name="notif_exactly_one_recipient",
            ),
            models.CheckConstraint(condition=Q(type__in=NotificationType.values), name="notif_type_valid"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="notif_channel_valid"),
            models.CheckConstraint(condition=Q(status__in=NotificationStatus.values), name="notif_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.channel} {self.pk} ({self.status})"

    def save(self, *args: object, **kwargs: object) -> None:
        # A row saved without an alert is its own (rows are written by notifications.services.create, which sets it).
        if self.alert_id is None:
            self.alert_id = self.pk
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class PushSubscription(models.Model):
    """A nurse's browser, registered for Web Push (its endpoint and keys, from the browser's PushSubscription)."""

    nurse = models.ForeignKey("tasks_app.Nurse", on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200, help_text="The browser's public key (base64url).")
    auth = models.CharField(max_length=100, help_text="The browser's auth secret (base64url).")
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Push subscription {self.pk} of nurse {self.nurse_id}"


class InboundKind(models.TextChoices):
    STOP = "STOP", "Opt-out keyword"
    START = "START", "Opt-in keyword"
    HELP = "HELP", "Help keyword"
    REPLY = "REPLY", "A patient's reply"
    UNKNOWN_SENDER = "UNKNOWN_SENDER", "From a number no patient has"
    NURSE_ACK = "NURSE_ACK", "A nurse acknowledged a task"
    NURSE_OTHER = "NURSE_OTHER", "From a nurse's phone: nothing acknowledged"


class InboundMessage(models.Model):
    """Every text that reached our number, as the provider's webhook delivered it (one row per provider id)."""

    id = models.BigAutoField(primary_key=True)
    provider_message_id = models.CharField(max_length=64, unique=True)
    from_number = models.CharField(max_length=40)
    body = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=InboundKind.choices)
    patient = models.ForeignKey(
        "care_events.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="inbound_messages"
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=InboundKind.values), name="inbound_kind_valid")]

    def __str__(self) -> str:
        return f"Inbound {self.kind} {self.pk}"
