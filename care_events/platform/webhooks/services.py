"""Webhook subscriptions and their deliveries (docs/webhooks.md).

A delivery row per (event, subscription) is written by the event's bus subscription, in its handler run's
transaction (care_events/handlers.py: one-line adapters), and its message published after that commits. Delivering
claims the row under a lease, POSTs, and records the outcome through the bus's one retry mechanism
(care_events.platform.bus.retry: `claim`, `failure_record`, `relay_take`, `relay_backoff`); a row whose message was
lost is published again by the relay (Beat, backstop queue). The webhook-id is the event's id: a receiver that gets
a delivery twice (a worker died after the POST and before recording it) dedupes on it.
"""

import datetime as dt
import functools
import json
import logging
from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from care_events.platform.bus.catalogue import CATALOGUE, DEFAULT
from care_events.platform.bus.models import Event
from care_events.platform.bus.publish import publish
from care_events.platform.bus.retry import RetryPolicy, claim, failure_record, relay_backoff, relay_take
from care_events.platform.webhooks.http import WebhookTransportError, WebhookURLRefusedError, url_check, webhook_post
from care_events.platform.webhooks.models import WebhookDelivery, WebhookSubscription
from care_events.platform.webhooks.signing import secret_generate, signed_headers

logger = logging.getLogger(__name__)

# The events an agent may subscribe to (docs/webhooks.md); each has a bus subscription that writes its deliveries.
WEBHOOK_EVENTS = ("interaction/patient_replied", "checkin/sent", "checkin/no_answer")


class WebhookStatusError(Exception):
    """The receiver answered, but not with a 2xx (`code`: "http:<status>")."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.code = f"http:{status_code}"


def webhook_policy() -> RetryPolicy:
    """Read at each failure, so that tests (and operators) can shorten the schedule through the settings."""
    return RetryPolicy(max_attempts=settings.WEBHOOK_MAX_ATTEMPTS, cap_seconds=settings.WEBHOOK_RETRY_CAP_SECONDS)


def webhook_subscription_create(
    *, name: str, url: str, events: Sequence[str], user: User | None = None
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret (the one time it is shown: store it in the agent's secrets)."""
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if unknown or not events:
        raise ValueError(f"Unknown webhook events {unknown}; allowed: {', '.join(WEBHOOK_EVENTS)}.")
    try:
        url_check(url)
    except WebhookURLRefusedError as exc:
        raise ValueError(str(exc)) from None
    secret = secret_generate()
    subscription = WebhookSubscription.objects.create(name=name, url=url, events=list(events), user=user, secret=secret)
    return subscription, secret


def webhook_deliveries_create(*, name: str, once_for: Sequence[object]) -> int:
    """The bus subscription of each webhook event: a delivery row for every active subscription to `name`, for the
    event about the fact `once_for` names (its idempotency key, `EventType.key`), published after the commit. Runs
    in the handler run's transaction, so a redelivered run finds the rows (one per event and subscription)."""
    event = Event.objects.get(idempotency_key=CATALOGUE[name].key(*once_for))
    created = 0
    for subscription in WebhookSubscription.objects.filter(active=True, events__contains=[name]):
        delivery, new = WebhookDelivery.objects.get_or_create(
            event=event, subscription=subscription, defaults={"enqueued_at": timezone.now()}
        )
        if new:
            _publish(delivery.pk)
            created += 1
    return created


def _publish(delivery_id: int, *, after_commit: bool = True) -> None:
    from care_events.platform.webhooks.tasks import webhook_deliver_task

    publish(
        webhook_deliver_task,
        args=[delivery_id],
        queue=DEFAULT,
        after_commit=after_commit,
        on_failure=functools.partial(_unpublished, delivery_id),
    )


def _unpublished(delivery_id: int) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id).update(enqueued_at=None)


def webhook_body(event: Event) -> bytes:
    """What the receiver gets: the event's name, when it happened and its data (ids only, never PHI)."""
    payload = {"type": event.name, "timestamp": event.created_at, "data": event.data}
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Take a PENDING row that is due, and lease it: its next attempt moves past the call's deadline, so a second
    message (the relay's, a redelivery) finds it not due, and a worker that dies mid-call leaves it to the relay."""
    now = timezone.now()
    with transaction.atomic():
        delivery = claim(
            WebhookDelivery.objects.select_related("event", "subscription").filter(
                pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
            )
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + dt.timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 30)
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
    return delivery


def webhook_deliver(*, delivery_id: int) -> float | None:
    """Send one delivery. Returns None when done (delivered, failed for good, or not ours now), or the seconds
    before the next attempt."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    subscription = delivery.subscription
    if not subscription.active:
        inactive = WebhookURLRefusedError("subscription inactive", code="inactive")
        return _record_failure(delivery, inactive, retryable=False)
    body = webhook_body(delivery.event)
    headers = signed_headers(
        secret=subscription.secret, msg_id=str(delivery.event_id), timestamp=int(timezone.now().timestamp()), body=body
    )
    status_code = None
    try:
        status_code = webhook_post(subscription.url, body=body, headers=headers)
        if not 200 <= status_code < 300:
            raise WebhookStatusError(status_code)
    except WebhookURLRefusedError as exc:
        return _record_failure(delivery, exc, retryable=False)
    except (WebhookTransportError, WebhookStatusError) as exc:
        return _record_failure(delivery, exc, status_code=status_code)
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.DELIVERED, delivered_at=timezone.now(), last_status_code=status_code
    )
    logger.info("webhook delivery %s (event %s) delivered", delivery.pk, delivery.event_id)
    return None


def _record_failure(
    delivery: WebhookDelivery, exc: Exception, *, retryable: bool = True, status_code: int | None = None
) -> float | None:
    wait = failure_record(
        delivery,
        exc=exc,
        policy=webhook_policy(),
        attempts=delivery.attempts,
        retryable=retryable,
        final={"status": WebhookDelivery.Status.FAILED},
        columns={"last_status_code": status_code},
        only_while={"status": WebhookDelivery.Status.PENDING},
    )
    # Ids and the error's class only: a receiver's answer is not logged.
    logger.warning(
        "webhook delivery %s (event %s) attempt %d failed: %s; %s",
        delivery.pk,
        delivery.event_id,
        delivery.attempts,
        type(exc).__name__,
        "given up" if wait is None else f"retry in {wait:.0f}s",
    )
    return wait


def webhooks_relay(*, limit: int = 500) -> int:
    """Publish again the pending deliveries whose message may be lost: due over RELAY_GRACE_SECONDS ago (a lease
    that expired counts: its worker died mid-call), not published within the grace, and then only after twice the
    last wait (`relay_backoff`), so a backlog is not multiplied."""
    now = timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.RELAY_GRACE_SECONDS)
    overdue = (
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=cutoff)
        .exclude(enqueued_at__gt=cutoff)
        .filter(relay_backoff(due="next_attempt_at", marked="enqueued_at", now=now))
    )
    taken = relay_take(overdue, fields=(), order_by="next_attempt_at", mark={"enqueued_at": now}, limit=limit)
    for (delivery_id,) in taken:
        _publish(delivery_id, after_commit=False)
    if taken:
        logger.warning("relay: publishing %d pending webhook deliveries again", len(taken))
    return len(taken)


@transaction.atomic
def webhook_deliveries_redrive(*, delivery_ids: list[int]) -> int:
    """Give FAILED deliveries fresh attempts, due now (admin's action)."""
    now = timezone.now()
    count = WebhookDelivery.objects.filter(pk__in=delivery_ids, status=WebhookDelivery.Status.FAILED).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=now, enqueued_at=now, last_error=""
    )
    for delivery_id in delivery_ids:
        _publish(delivery_id)
    return count
