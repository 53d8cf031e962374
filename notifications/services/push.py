"""A nurse's browsers, registered for Web Push: where the PUSH channel sends (notifications/backends/push.py)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Coalesce

from care_events.platform.errors import ConflictError
from notifications.models import PushSubscription
from tasks_app.models import Nurse

# Each push is a request per browser, made in turn within one delivery attempt: a nurse keeps at most this many
# (phone, workstation, tablet, and the ones a browser replaced without telling us).
MAX_SUBSCRIPTIONS_PER_NURSE = 10


class PushEndpointTakenError(ConflictError):
    code = "endpoint_taken"

    def __init__(self) -> None:
        super().__init__(
            "This push endpoint is registered to another nurse: unsubscribe the browser and subscribe again."
        )


@transaction.atomic
def push_subscription_register(*, nurse: Nurse, endpoint: str, p256dh: str, auth: str) -> tuple[PushSubscription, bool]:
    """Register the browser whose push endpoint is `endpoint` for `nurse`; her own endpoint already known takes these
    keys (a browser re-subscribing). Another nurse's endpoint is refused (PushEndpointTakenError, 409), so that
    nobody can divert a colleague's alerts: a shared workstation's browser unsubscribes at the first nurse's logout,
    or re-subscribes, which gives it a new endpoint. Returns the subscription and whether it is new. Beyond
    MAX_SUBSCRIPTIONS_PER_NURSE, the nurse's browsers heard from least lately are forgotten."""
    subscription, created = PushSubscription.objects.select_for_update().get_or_create(
        endpoint=endpoint, defaults={"nurse": nurse, "p256dh": p256dh, "auth": auth}
    )
    if not created and subscription.nurse_id != nurse.pk:
        raise PushEndpointTakenError()
    if not created:
        subscription.p256dh, subscription.auth = p256dh, auth
        subscription.save(update_fields=["p256dh", "auth"])
    others = (
        PushSubscription.objects.filter(nurse=nurse)
        .exclude(pk=subscription.pk)
        .order_by(Coalesce("last_success_at", "created_at").desc(), "-pk")
    )
    stale = list(others.values_list("pk", flat=True)[MAX_SUBSCRIPTIONS_PER_NURSE - 1 :])
    if stale:
        PushSubscription.objects.filter(pk__in=stale).delete()
    return subscription, created


def push_subscription_remove(*, nurse: Nurse, endpoint: str) -> bool:
    """Forget the nurse's own browser at `endpoint` (she turned alerts off there, or logs out). False if she has no
    such subscription: another nurse's is left alone."""
    deleted, _ = PushSubscription.objects.filter(nurse=nurse, endpoint=endpoint).delete()
    return deleted > 0


class PushEndpointRefusedError(ValueError):
    """The endpoint is not an https URL of an allowed push service."""


def push_endpoint_check(endpoint: str) -> None:
    """Refuse (PushEndpointRefusedError) an endpoint whose host is not one of PUSH_ALLOWED_HOSTS ("*.example.com"
    allows the names under example.com), or that is not https, or carries credentials."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme != "https" or parts.username or parts.password or not host:
        raise PushEndpointRefusedError("Must be the https URL of a push service.")
    for allowed in settings.PUSH_ALLOWED_HOSTS:
        allowed = allowed.lower()
        if host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:])):
            return
    raise PushEndpointRefusedError("Must be the URL of a known push service (FCM, Mozilla, Apple, Windows).")
