"""The PUSH channel: Web Push with VAPID, through pywebpush, to every browser a nurse registered.

Each browser gets the message encrypted for its own keys (aes128gcm, RFC 8291): the push service (FCM, Mozilla's
autopush, Apple's, Microsoft's) only relays bytes it cannot read. A push service answering 404 or 410 has forgotten
the subscription (the browser unsubscribed, or the subscription expired): it is deleted here.

The server POSTs to a URL a browser gave it, so each push is made the guarded way (care_events/platform/webhooks/
http.py): the endpoint's host must be one of PUSH_ALLOWED_HOSTS, the address it resolves to a public one (checked on
the connection itself), no redirect is followed, and one deadline (PUSH_TIMEOUT_SECONDS) bounds the whole push. A push
service that has not answered by then is not waited on again: the failure is final for that browser, so an urgent
alert goes on to the nurse's next channel at once (notifications/services/fallback.py).
"""

import json
import logging
import time
import uuid

import requests
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from http_ece import ECEException
from py_vapid import Vapid, VapidException  # pywebpush's own VAPID library
from py_vapid.utils import b64urlencode
from pywebpush import WebPushException, webpush

from care_events.platform.webhooks.http import (
    OutboundDeadlineError,
    OutboundRefusedError,
    guarded_session,
    outbound_call,
)
from notifications.backends.base import OutgoingMessage, PermanentSendError, SendError, SendResult, TransientSendError
from notifications.backends.errors import WEBPUSH_GONE, webpush_error
from notifications.models import PushSubscription
from notifications.services.push import PushEndpointRefusedError, push_endpoint_check

logger = logging.getLogger(__name__)

ADDRESS_PREFIX = "nurse:"  # delivery addresses a PUSH message to the nurse, not to one browser
# How long a push service keeps the message for a browser that is offline (0 would drop it at once). A task alert
# still matters hours later, while the task is open; the push service may keep it for less.
TTL_SECONDS = 12 * 60 * 60
# Nurse alerts are about patients waiting: "high" lets a phone on battery saver wake for them (RFC 8030, 5.3).
HEADERS: dict[str, str | int | float] = {"Urgency": "high"}


class WebPushBackend:
    provider = "webpush"

    def __init__(self) -> None:
        # The parsed VAPID key, for the private key it was parsed from; parsed again when the setting changes.
        self._vapid: tuple[str, Vapid] | None = None

    def send(self, message: OutgoingMessage) -> SendResult:
        vapid = self._vapid_key()
        nurse_id = _nurse_id(message.to)
        # Browsers that took a message lately first: if the time runs out (below), the likeliest ones had their turn.
        subscriptions = list(
            PushSubscription.objects.filter(nurse_id=nurse_id).order_by(
                F("last_success_at").desc(nulls_last=True), "-created_at"
            )
        )
        if not subscriptions:
            raise PermanentSendError("push:no_subscription")
        # `extra`: the "Acknowledge" button and its token, while the task waits for her (notifications/messages.py).
        data = json.dumps({"title": message.subject, "body": message.body, **(message.extra or {})})
        delivered: list[int] = []
        gone: list[int] = []
        errors: list[SendError] = []
        # Within half the claim's lease, so that a nurse with many browsers, some of them slow, never outlasts the
        # lease (past it, the relay would send the message again while this attempt still runs).
        time_is_up = time.monotonic() + settings.NOTIFICATION_SEND_LEASE_SECONDS / 2
        for subscription in subscriptions:
            if time.monotonic() > time_is_up:
                errors.append(TransientSendError("push:out_of_time"))
                break
            try:
                self._push(subscription, data, vapid)
            except (OutboundRefusedError, PushEndpointRefusedError):
                errors.append(PermanentSendError("push:endpoint_refused"))
                continue
            except OutboundDeadlineError:
                errors.append(PermanentSendError("push:deadline"))
                continue
            except VapidException:
                # pywebpush signs the claims for each push: VAPID_SUBJECT is not a mailto: or https: URL.
                raise PermanentSendError("push:not_configured", "VAPID_SUBJECT invalid") from None
            except (WebPushException, requests.RequestException) as exc:
                error = webpush_error(exc)
                if error.code == WEBPUSH_GONE:
                    gone.append(subscription.pk)
                else:
                    errors.append(error)
                continue
            except (ValueError, ECEException):
                # Keys no browser would make (registration checks them; rows written otherwise may not be).
                errors.append(PermanentSendError("push:bad_subscription"))
                continue
            delivered.append(subscription.pk)
        return self._outcome(nurse_id, delivered, gone, errors)

    def _outcome(self, nurse_id: int, delivered: list[int], gone: list[int], errors: list[SendError]) -> SendResult:
        if gone:
            PushSubscription.objects.filter(pk__in=gone).delete()
        if delivered:
            PushSubscription.objects.filter(pk__in=delivered).update(last_success_at=timezone.now())
        logger.info(
            "webpush to nurse %s: delivered=%d gone=%d failed=%d", nurse_id, len(delivered), len(gone), len(errors)
        )
        if delivered:
            # One browser that took it is enough: the nurse sees it there.
            return SendResult(provider=self.provider, message_id=f"webpush-{uuid.uuid4().hex}", status="sent")
        if not errors:
            # Every browser was gone: the nurse's next channel is tried.
            raise PermanentSendError("push:no_subscription")
        transient = [error for error in errors if error.retryable]
        if not transient:
            raise errors[0]
        # One browser out of reach for now is worth retrying, even if another refused for good.
        waits = [error.retry_after for error in transient if error.retry_after is not None]
        raise TransientSendError(
            transient[0].code,
            f"{len(transient)} of {len(errors)} browsers",
            in_doubt=any(error.in_doubt for error in transient),
            retry_after=max(waits) if waits else None,
        )

    def _push(self, subscription: PushSubscription, data: str, vapid: Vapid) -> None:
        push_endpoint_check(subscription.endpoint)
        seconds = settings.PUSH_TIMEOUT_SECONDS
        # A new connection for each push (a kept one would have been connected outside the deadline's watch).
        with guarded_session() as session, outbound_call(seconds, public_only=not settings.PUSH_ALLOW_PRIVATE_HOSTS):
            self._webpush(subscription, data, vapid, session, seconds)

    def _webpush(
        self, subscription: PushSubscription, data: str, vapid: Vapid, session: requests.Session, seconds: float
    ) -> None:
        webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=data,
            vapid_private_key=vapid,
            # A new dict for each push: pywebpush writes the push service's origin ("aud") into it.
            vapid_claims={"sub": settings.VAPID_SUBJECT},
            ttl=TTL_SECONDS,
            timeout=seconds,
            headers=HEADERS,
            requests_session=session,
        )

    def _vapid_key(self) -> Vapid:
        """The VAPID key from settings (read on every send, so override_settings takes effect), checked against the
        public key the browsers subscribed with: a mismatch would have every push service refuse every push."""
        private, public = settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY
        if not (private and public):
            raise PermanentSendError("push:not_configured", "VAPID keys missing")
        if self._vapid is None or self._vapid[0] != private:
            try:
                vapid = Vapid.from_string(private_key=private)
            except (ValueError, TypeError, VapidException):
                raise PermanentSendError("push:not_configured", "VAPID_PRIVATE_KEY unreadable") from None
            self._vapid = (private, vapid)
        vapid = self._vapid[1]
        if public.rstrip("=") != application_server_key(vapid):
            raise PermanentSendError("push:not_configured", "VAPID_PUBLIC_KEY is not the private key's pair")
        return vapid


def application_server_key(vapid: Vapid) -> str:
    """The public key as browsers take it (PushManager.subscribe's applicationServerKey): the uncompressed P-256
    point, base64url without padding."""
    point = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return str(b64urlencode(point))


def _nurse_id(address: str) -> int:
    prefix, _, number = address.partition(":")
    if f"{prefix}:" != ADDRESS_PREFIX or not (number.isascii() and number.isdigit()):
        raise PermanentSendError("push:bad_address")
    return int(number)
