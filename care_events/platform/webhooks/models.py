"""A subscriber's URL and secret, and one delivery row per (event, subscription). The rows belong to the
care_events app (its `models` module imports them)."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from care_events.platform.bus.models import Event


class WebhookSubscription(models.Model):
    """One agent's endpoint: where, which events, and the secret its deliveries are signed with (shown once, when
    created: `manage.py create_webhook_subscription` or admin)."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=100, unique=True, help_text="Whose endpoint, e.g. interaction-agent.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="webhook_subscriptions",
        help_text="The agent's account: the one whose API key fetches what a delivery names.",
    )
    url = models.URLField(max_length=500, help_text="https://... (docs/webhooks.md).")
    secret = models.CharField(max_length=100, editable=False, help_text="whsec_<base64>; shown once.")
    events = ArrayField(models.CharField(max_length=64), help_text="The event names sent to it.")
    active = models.BooleanField(default=True, help_text="Inactive: no new deliveries; pending ones are not sent.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"Webhook {self.name}"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    DELIVERED = "DELIVERED", "Delivered"
    FAILED = "FAILED", "Failed"


class WebhookDelivery(models.Model):
    """One event for one subscription. Its webhook-id is the event's id, so a receiver that gets it twice (a worker
    died after the POST, before recording it) knows it is the same delivery."""

    Status = WebhookDeliveryStatus

    id = models.BigAutoField(primary_key=True)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="webhook_deliveries")
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set when the delivery's message was published (the relay marks it again when it publishes it).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="PENDING"), name="webhook_pending_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "subscription"], name="webhook_one_per_event_and_subscription"),
            models.CheckConstraint(
                condition=Q(status__in=WebhookDeliveryStatus.values), name="webhook_delivery_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Webhook delivery {self.pk} ({self.status})"
