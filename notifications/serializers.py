import base64
import binascii

from cryptography.hazmat.primitives.asymmetric import ec
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from care_events.platform.rest.serializers import StrictSerializer
from notifications.models import GiveUpReason, NotificationLog, NotificationStatus, PushSubscription
from notifications.services.push import PushEndpointRefusedError, push_endpoint_check

# The browser gives its keys in base64url (RFC 4648, section 5), unpadded.
BASE64URL = RegexValidator(r"^[A-Za-z0-9_-]+={0,2}$", "Must be base64url (A-Z a-z 0-9 - _).")
P256_POINT_BYTES = 65  # an uncompressed P-256 point: 0x04, then x and y of 32 bytes each
AUTH_SECRET_BYTES = 16


_ROW_HELP = {
    "id": {"help_text": "The notification's UUID."},
    "channel": {"help_text": "SMS, EMAIL, PUSH or VOICE."},
    "status": {"help_text": "PENDING → SENT → DELIVERED → READ, or FAILED / CANCELLED; only moves forward."},
    "created_at": {"help_text": "UTC."},
    "sent_at": {"help_text": "UTC."},
    "delivered_at": {"help_text": "UTC."},
    "read_at": {"help_text": "UTC; set by POST notifications/{id}/read/."},
    "sent_late": {"help_text": "It went out late (an outage); its body says when the alert was first tried."},
}


class AttemptSerializer(serializers.ModelSerializer):
    """One row of an alert's chain: the alert on one channel."""

    reason = serializers.SerializerMethodField(
        help_text="Why it failed or was given up (CANCELLED): a provider's code (twilio:30006) or a reason "
        "(task_closed, reassigned, acknowledged, breach_due, window_closed, expired, delivered_elsewhere, opted_out); "
        "empty otherwise."
    )
    note = serializers.SerializerMethodField(
        help_text='For an attempt given up because another reached her: how, e.g. "delivered by EMAIL at 19:52 UTC".'
    )

    class Meta:
        model = NotificationLog
        fields = ["id", "channel", "status", "reason", "note", "sent_late", "created_at", "sent_at", "delivered_at"]
        read_only_fields = fields
        extra_kwargs = _ROW_HELP

    def get_reason(self, row: NotificationLog) -> str:
        return row.error_code if row.status in (NotificationStatus.FAILED, NotificationStatus.CANCELLED) else ""

    def get_note(self, row: NotificationLog) -> str:
        return row.error_message if row.error_code == GiveUpReason.DELIVERED_ELSEWHERE else ""


class NotificationSerializer(serializers.ModelSerializer):
    """A nurse's alert: its first row's fields (as before chains existed), the alert's own status, and its chain."""

    task_id = serializers.UUIDField(read_only=True, allow_null=True, help_text="The task it is about, if any.")
    episode_id = serializers.UUIDField(read_only=True, allow_null=True, help_text="The episode it is about, if any.")
    alert_id = serializers.UUIDField(
        read_only=True, help_text="The alert this row belongs to: the id of its chain's first row (listed alerts: id)."
    )
    alert_status = serializers.SerializerMethodField(
        help_text="The alert's status over its chain: READ, DELIVERED or SENT when an attempt got that far (the "
        "furthest), else PENDING while one is waiting, else FAILED or CANCELLED."
    )
    chain = serializers.SerializerMethodField(
        help_text="The alert's attempts, one row per channel tried, oldest first."
    )

    class Meta:
        model = NotificationLog
        fields = [
            "id",
            "type",
            "channel",
            "status",
            "subject",
            "body",
            "task_id",
            "episode_id",
            "created_at",
            "sent_at",
            "delivered_at",
            "read_at",
            "sent_late",
            "alert_id",
            "alert_status",
            "chain",
        ]
        read_only_fields = fields
        extra_kwargs = {
            **_ROW_HELP,
            "type": {"help_text": "Why it was sent, e.g. TASK_ASSIGNED, SLA_WARNING, SLA_BREACH, URGENT_HANDOFF."},
            "subject": {"help_text": "Email subject; empty for other channels."},
            "body": {"help_text": "The message as sent."},
        }

    def _chain(self, row: NotificationLog) -> list[NotificationLog]:
        # Prefetched for a list (notifications.selectors.alert_list_for); read for a single row.
        if "chain" in getattr(row, "_prefetched_objects_cache", {}):
            return list(row.chain.all())
        return list(NotificationLog.objects.filter(alert_id=row.alert_id).order_by("created_at", "pk"))

    @extend_schema_field(AttemptSerializer(many=True))
    def get_chain(self, row: NotificationLog) -> list[dict[str, object]]:
        return AttemptSerializer(self._chain(row), many=True).data

    @extend_schema_field(serializers.ChoiceField(choices=NotificationStatus.choices))
    def get_alert_status(self, row: NotificationLog) -> str:
        return alert_status([attempt.status for attempt in self._chain(row)])


_FURTHEST = (NotificationStatus.READ, NotificationStatus.DELIVERED, NotificationStatus.SENT, NotificationStatus.PENDING)


def alert_status(statuses: list[str]) -> str:
    """The furthest status an attempt reached, PENDING while one waits; else FAILED if one failed, else CANCELLED."""
    for status in (*_FURTHEST, NotificationStatus.FAILED):
        if status in statuses:
            return status
    return NotificationStatus.CANCELLED


def _base64url_bytes(value: str) -> bytes | None:
    unpadded = value.rstrip("=")
    try:
        return base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError):
        return None


def _is_p256_point(raw: bytes) -> bool:
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return False
    return True


class PushSubscriptionKeysSerializer(StrictSerializer):
    """The browser's keys (PushSubscription.toJSON().keys)."""

    p256dh = serializers.CharField(
        max_length=200,
        validators=[BASE64URL],
        help_text="The browser's P-256 public key, base64url (PushSubscription.toJSON().keys.p256dh).",
    )
    auth = serializers.CharField(
        max_length=100,
        validators=[BASE64URL],
        help_text="The browser's 16-byte auth secret, base64url (PushSubscription.toJSON().keys.auth).",
    )

    def validate_p256dh(self, value: str) -> str:
        raw = _base64url_bytes(value)
        # The point must be on the curve, or every push to this browser would fail at encryption.
        if raw is None or len(raw) != P256_POINT_BYTES or not _is_p256_point(raw):
            raise serializers.ValidationError("Must be an uncompressed P-256 public key (65 bytes), base64url.")
        return value

    def validate_auth(self, value: str) -> str:
        raw = _base64url_bytes(value)
        if raw is None or len(raw) != AUTH_SECRET_BYTES:
            raise serializers.ValidationError("Must be a 16-byte secret, base64url.")
        return value


class PushSubscriptionRegisterSerializer(StrictSerializer):
    """The browser's PushSubscription.toJSON(), as it gives it."""

    endpoint = serializers.URLField(
        max_length=1000, help_text="The push service's URL for this browser (https), from PushSubscription.endpoint."
    )
    keys = PushSubscriptionKeysSerializer(help_text="The browser's keys: each message is encrypted for them.")
    # camelCase: the browser's own name for it.
    expirationTime = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text="Accepted as the browser gives it (milliseconds since the epoch, usually null) and not stored: a "
        "subscription that expired is deleted when its push service says so.",
    )

    def validate_endpoint(self, value: str) -> str:
        # The server POSTs to this URL: only a known push service's (PUSH_ALLOWED_HOSTS), so an endpoint cannot aim
        # the workers at an address of the internal network or carry credentials.
        try:
            push_endpoint_check(value)
        except PushEndpointRefusedError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value


class PushSubscriptionUnregisterSerializer(StrictSerializer):
    """The browser to forget, by its endpoint."""

    endpoint = serializers.URLField(max_length=1000, help_text="The endpoint the browser registered.")


class PushSubscriptionSerializer(serializers.ModelSerializer):
    """A registered browser. Its keys are not shown: only the browser needs them."""

    class Meta:
        model = PushSubscription
        fields = ["id", "endpoint", "created_at", "last_success_at"]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "The subscription's id."},
            "endpoint": {"help_text": "The push service's URL for this browser."},
            "created_at": {"help_text": "UTC; when this endpoint was first registered."},
            "last_success_at": {"help_text": "UTC; the last push a push service took for it; null until then."},
        }


class VapidPublicKeySerializer(serializers.Serializer):
    """What a browser needs to subscribe."""

    public_key = serializers.CharField(
        read_only=True,
        help_text="The server's VAPID public key, base64url: PushManager.subscribe()'s applicationServerKey. Empty "
        "when Web Push is not configured.",
    )
