"""Delivering one message: take the row, ask the provider about an attempt left in doubt, send, record.

A row is claimed (PENDING and its lease free) and marked in doubt before the provider is called; the provider's
answer goes through the status path (notifications.services.status). Transient failures are retried until the
message's deadline; permanent ones fail it at once. docs/architecture.md#durability (point 5).
"""

import dataclasses
import datetime as dt
import functools
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from care_events.choices import Channel, NotificationType
from care_events.platform.bus.retry import DELIVERIES, claim, error_text, failure_record, relay_backoff, relay_take
from care_events.services.patients import patient_sms_consent_set
from notifications.backends import get_backend
from notifications.backends.base import (
    ChannelBackend,
    OutgoingMessage,
    SendError,
    SendResult,
    SentLookup,
    TransientSendError,
)
from notifications.backends.local import LocalBackend
from notifications.messages import push_actions
from notifications.models import GiveUpReason, NotificationLog, NotificationStatus, reached_q
from notifications.services.create import delivery_publish, notification_create
from notifications.services.status import (
    PROVIDER_STATUSES,
    notification_announce,
    notification_provider_report,
    notification_status_set,
    reached_words,
)
from notifications.services.unreachable import alert_timers_arm
from notifications.throttle import send_slot_wait
from tasks_app.models import TaskStatus

logger = logging.getLogger(__name__)

# A message with neither a deadline nor an open task to live for (none is created so) gives up after this long.
DEFAULT_LIFETIME = dt.timedelta(hours=24)
# Alerts that tell a nurse "this task is yours now": moot once it is someone else's, or once she acknowledged it.
ASSIGNEE_ALERTS = (
    NotificationType.TASK_ASSIGNED,
    NotificationType.TASK_REASSIGNED,
    NotificationType.URGENT_HANDOFF,
    NotificationType.ACK_REMINDER,
)


def notification_send(*, rows: Mapping[str, Any] | None = None, **request: Any) -> NotificationLog:
    """A `notification/send` request, inside the transaction that asks for it (the `send-notification` inline
    handler): the message's row, then its delivery (`_deliver_new`) and, for an urgent nurse alert, its fallback
    and unreachable timers (notifications.services.unreachable)."""
    log = notification_create(**request, rows=rows, deliver=_deliver_new)
    alert_timers_arm(log)
    return log


def _deliver_new(log: NotificationLog) -> Callable[[], None]:
    """A new pending row, about to be inserted by this transaction (`notification_row_create` asks before the
    insert); returns what to do once it is in. A real provider's call is a message to the delivery worker
    (`delivery_publish`), after the commit; a lost one is the relay's. An in-process backend (the local one) is sent
    to in this transaction: nobody else can see the row before this commits, so this is the transaction's claim,
    and there is no attempt in doubt to ask about (a rollback takes the row back; the local outbox, a list in this
    process's memory, keeps what it was handed: it stands in for a provider, which would keep it too). Sent
    and, the local outbox being the recipient, delivered at once: the outcome is written onto the row before its
    insert (one statement, no update), and the message handed over once the row is in (a repeated request, which
    finds the first row, sends nothing)."""
    backend = get_backend(log.channel)
    if not isinstance(backend, LocalBackend):
        return functools.partial(delivery_publish, notification_id=log.pk, urgent=log.urgent, channel=log.channel)
    now = timezone.now()
    log.created_at = now  # the insert stamps it again; asked about now, before it
    # This transaction's claim asks first too (the task read here is the one this transaction sees). A first row:
    # its alert has no other row to ask about.
    reason = give_up_reason(log, now, alone=True)
    if reason is not None:
        return functools.partial(_give_up, log, reason)
    message_id = backend.message_id()
    log.status, log.attempts, log.last_attempt_at = NotificationStatus.DELIVERED, 1, now
    log.provider, log.provider_message_id = backend.provider, message_id
    log.provider_status = backend.fetch_status(message_id)[0]
    log.sent_at = log.delivered_at = now

    def hand_over() -> None:
        backend.send(_message(log), message_id=message_id)
        notification_announce(log, NotificationStatus.PENDING)  # the status path's event
        logger.info("notification %s sent via %s (%s)", log.pk, backend.provider, message_id)

    return hand_over


def _message(log: NotificationLog) -> OutgoingMessage:
    return OutgoingMessage(
        channel=log.channel,
        to=_address(log),
        body=log.body,
        subject=log.subject,
        whatsapp=log.whatsapp,
        status_callback_url=f"{settings.PUBLIC_BASE_URL.rstrip('/')}/webhooks/twilio/status/{log.pk}/",
        extra=push_actions(log) if log.channel == Channel.PUSH else None,
    )


def notification_deliver(*, notification_id: uuid.UUID) -> float | None:
    """Send one pending notification. Returns None when done (sent, failed for good, or not ours to send), or the
    seconds to wait before the next try (a transient failure, or the provider's shared send rate used up)."""
    pending = NotificationLog.objects.filter(pk=notification_id, status=NotificationStatus.PENDING).first()
    if pending is None:
        return None
    backend = get_backend(pending.channel)
    wait = send_slot_wait(backend.provider, urgent=pending.urgent)
    if wait:
        return wait  # not claimed, not counted: the message waits its turn at the provider
    claimed = _claim(notification_id, backend)
    if claimed is None:
        return None
    log, in_doubt_since, give_up = claimed
    try:
        # Looked up as the earlier attempt sent it: the body is marked late (below) only for a send of its own.
        result = _already_sent(log, _message(log), backend, in_doubt_since) if in_doubt_since else None
    except Exception as exc:
        # The provider could not be asked: the message stays in doubt and is not sent blind.
        return _record_send_error(log, _as_send_error(log, exc), in_doubt=True)
    handed_off = timezone.now()
    if result is None and give_up is None:
        # Asked again at the hand-off, on a fresh clock: the claim's answer may be as old as a lookup at the
        # provider, and a warning claimed just before its breach must not leave after it. The time-based reasons
        # only (no read).
        give_up = give_up_reason(log, handed_off, alone=True)
    if result is not None:
        logger.warning("notification %s: an earlier attempt reached the provider; not sent again", log.pk)
    elif give_up is not None:
        # Not worth sending any more, and the provider has no earlier attempt of it: nothing left.
        log.in_doubt_since = None
        _give_up(log, give_up)
        return None
    elif log.recipient_patient is not None and not log.recipient_patient.sms_consent:
        notification_status_set(notification_id=log.pk, status=NotificationStatus.CANCELLED, error_code="opted_out")
        return None
    else:
        if in_doubt_since and _mark_if_late(log, handed_off):
            log.save(update_fields=["sent_late", "body", "updated_at"])
        try:
            result = backend.send(_message(log))
        except Exception as exc:
            error = _as_send_error(log, exc)
            return _record_send_error(log, error, in_doubt=error.in_doubt)
        # Sent when it was handed to the provider, not when the provider's answer came back.
        result = dataclasses.replace(result, sent_at=result.sent_at or handed_off)
    _record_sent(log, result)
    if isinstance(backend, LocalBackend):
        # The local outbox "delivers" at once; the news takes the path of a provider's status callback.
        notification_provider_report(notification_id=log.pk, provider_status=backend.fetch_status(result.message_id)[0])
    return None


def _address(log: NotificationLog) -> str:
    if log.recipient_patient is not None:
        return log.recipient_patient.phone
    nurse = log.recipient_nurse
    assert nurse is not None  # the notif_exactly_one_recipient constraint
    # The push backend sends to every browser the nurse registered; SMS and voice use her phone.
    addresses: dict[str, str] = {Channel.EMAIL: nurse.email, Channel.PUSH: f"nurse:{nurse.pk}"}
    return addresses.get(log.channel, nurse.phone)


def _claim(
    notification_id: uuid.UUID, backend: ChannelBackend
) -> tuple[NotificationLog, dt.datetime | None, str | None] | None:
    """Take a PENDING row whose lease is free, so two workers (or a redelivered message) never both call the
    provider. The lease is next_attempt_at pushed forward; a dead worker's lease simply expires. Every try asks
    first, in this transaction: a message no longer worth sending (`give_up_reason`) is given up, never sent. Returns
    the row; when an earlier attempt may already have reached the provider, since when; and the reason to give it up
    unless that attempt did (the provider is asked outside this transaction, and a message that left is recorded
    as sent, not as given up)."""
    now = timezone.now()
    with transaction.atomic():
        log = claim(
            NotificationLog.objects.select_related("recipient_nurse", "recipient_patient", "task", "alert").filter(
                pk=notification_id, status=NotificationStatus.PENDING, next_attempt_at__lte=now
            )
        )
        if log is None:
            return None
        in_doubt_since = log.in_doubt_since
        reason = give_up_reason(log, now)
        if reason is not None and not (in_doubt_since and isinstance(backend, SentLookup)):
            _give_up(log, reason)
            return None
        if not in_doubt_since:
            # A row in doubt keeps the body its earlier attempt sent until the provider is asked about it.
            _mark_if_late(log, now)
        log.attempts += 1
        log.last_attempt_at = now
        log.next_attempt_at = now + dt.timedelta(seconds=settings.NOTIFICATION_SEND_LEASE_SECONDS)
        # Kept from the first attempt in doubt: a message that left then must still be found.
        log.in_doubt_since = in_doubt_since or now
        log.save(
            update_fields=[
                "attempts",
                "last_attempt_at",
                "next_attempt_at",
                "in_doubt_since",
                "sent_late",
                "body",
                "updated_at",
            ]
        )
    return log, in_doubt_since, reason


def give_up_reason(log: NotificationLog, now: dt.datetime, *, alone: bool = False) -> str | None:
    """Whether a message is still worth sending, asked before every try (the first, a retry, a relay's re-publish, a
    fallback copy) and after a failed one: None if it is, else why not (a GiveUpReason). Reads the row's task as
    loaded with it, and the other rows of its alert unless it is `alone` in it."""
    task = log.task
    if task is not None and not task.is_open:
        return GiveUpReason.TASK_CLOSED
    if task is not None and log.type in ASSIGNEE_ALERTS and log.recipient_nurse_id is not None:
        if task.assigned_to_id not in (None, log.recipient_nurse_id):
            return GiveUpReason.REASSIGNED
        if task.status == TaskStatus.ACKNOWLEDGED and task.assigned_to_id == log.recipient_nurse_id:
            return GiveUpReason.ACKNOWLEDGED
    if log.type == NotificationType.SLA_WARNING and task is not None and now >= task.sla_breach_at:
        return GiveUpReason.BREACH_DUE
    if log.deadline is not None and now >= log.deadline:
        return GiveUpReason.WINDOW_CLOSED if log.type == NotificationType.CHECKIN else GiveUpReason.EXPIRED
    if log.deadline is None and task is None and now >= log.created_at + DEFAULT_LIFETIME:
        return GiveUpReason.EXPIRED
    if not alone and _reached_by(log) is not None:
        return GiveUpReason.DELIVERED_ELSEWHERE
    return None


def _reached_by(log: NotificationLog) -> NotificationLog | None:
    """The row of `log`'s alert that reached the nurse already, if one did."""
    return (
        NotificationLog.objects.filter(reached_q(), alert_id=log.alert_id)
        .exclude(pk=log.pk)
        .order_by("sent_at")
        .only("channel", "sent_at", "delivered_at", "read_at")
        .first()
    )


def _give_up(log: NotificationLog, reason: str) -> None:
    """CANCELLED with `reason`: the status path's one write (no fallback follows a CANCELLED row)."""
    if reason == GiveUpReason.DELIVERED_ELSEWHERE:
        other = _reached_by(log)
        detail = reached_words(other) if other is not None else GiveUpReason(reason).label
    else:
        detail = GiveUpReason(reason).label
    if log.in_doubt_since is not None:
        detail += "; an earlier attempt may have reached the provider"
    notification_status_set(
        notification_id=log.pk, status=NotificationStatus.CANCELLED, error_code=reason, error_message=detail
    )
    logger.info("notification %s given up before a try: %s", log.pk, reason)


def _mark_if_late(log: NotificationLog, now: dt.datetime) -> bool:
    """A nurse's message going out over NOTIFICATION_FALLBACK_AFTER_SECONDS after its alert's first row says so
    (once: the flag and the words are kept for its next tries). Returns whether it marked the row now."""
    first = log.alert.created_at if log.alert is not None else log.created_at
    late = now - first > dt.timedelta(seconds=settings.NOTIFICATION_FALLBACK_AFTER_SECONDS)
    if log.sent_late or not late or log.recipient_nurse is None:
        return False
    log.sent_late = True
    log.body = (
        f"{log.body} (sent late: first tried {first.astimezone(ZoneInfo(log.recipient_nurse.timezone)):%H:%M %Z})"
    )
    return True


def _already_sent(
    log: NotificationLog, message: OutgoingMessage, backend: ChannelBackend, since: dt.datetime
) -> SendResult | None:
    """After an attempt that died or timed out mid-call: the provider's record of this message, if it has one
    that no other notification claimed."""
    if not isinstance(backend, SentLookup):
        return None
    for found in backend.find_sent(message, since=since):
        taken = NotificationLog.objects.filter(provider=found.provider, provider_message_id=found.message_id)
        if not taken.exclude(pk=log.pk).exists():
            return found
    return None


def _record_sent(log: NotificationLog, result: SendResult) -> None:
    notification_status_set(
        notification_id=log.pk,
        status=PROVIDER_STATUSES.get(result.status.lower(), NotificationStatus.SENT),
        provider=result.provider,
        provider_message_id=result.message_id,
        provider_status=result.status,
        sent_at=result.sent_at,
    )
    logger.info("notification %s sent via %s (%s)", log.pk, result.provider, result.message_id)


def _as_send_error(log: NotificationLog, exc: Exception) -> SendError:
    if isinstance(exc, SendError):
        return exc
    # A bug in a backend is retried like an outage, so it ends FAILED at the message's deadline instead of looping;
    # the class name only, since a provider's own text can quote the number or the body. Whether the message left
    # is unknown, so the next attempt asks the provider first.
    logger.error("notification %s: backend raised %s", log.pk, type(exc).__name__)
    return TransientSendError("backend_error", type(exc).__name__, in_doubt=True)


def _record_send_error(log: NotificationLog, exc: SendError, *, in_doubt: bool) -> float | None:
    """`in_doubt`: the message may have left (a timeout, a crash, a lookup that failed), so the next attempt asks
    the provider first; otherwise the provider answered the send with an error and nothing left."""
    logger.warning("notification %s attempt %d failed: %s", log.pk, log.attempts, exc.code)
    if exc.unsubscribed and log.recipient_patient_id is not None:
        patient_sms_consent_set(patient_id=log.recipient_patient_id, consent=False)
    now = timezone.now()
    reason = None
    if exc.retryable:
        if log.task is not None:
            log.task.refresh_from_db()  # asked again as it is now: the claim's copy is a send old
        reason = give_up_reason(log, now)
    # Attempts were counted when the row was claimed (a worker that dies mid-send has used one).
    wait = failure_record(
        log,
        exc=exc,
        policy=DELIVERIES,
        attempts=log.attempts,
        error_field="error_message",
        retryable=exc.retryable and reason is None,
        wait_at_least=exc.retry_after or 0.0,
        columns={"error_code": exc.code, "in_doubt_since": log.in_doubt_since if in_doubt else None, "updated_at": now},
        only_while={"status": NotificationStatus.PENDING},
    )
    if reason is not None:
        log.in_doubt_since = log.in_doubt_since if in_doubt else None
        _give_up(log, reason)
        return None
    if wait is None:
        # Failed for good: the status path records it, emits `notification/failed`, starts an urgent alert's fallback.
        notification_status_set(
            notification_id=log.pk, status=NotificationStatus.FAILED, error_code=exc.code, error_message=error_text(exc)
        )
        return None
    # An urgent alert does not wait out an outage: its ALERT_FALLBACK timer tries the next channel meanwhile, at
    # NOTIFICATION_FALLBACK_AFTER_SECONDS (notifications.services.fallback), while this row keeps trying.
    return wait


def notifications_relay(*, limit: int = 500) -> int:
    """Publish again every pending notification whose message may be lost: its next try due over
    RELAY_GRACE_SECONDS ago (a lost message, Redis flushed), or an attempt whose lease has expired (its worker died
    or hung mid-send: the lease was its grace already, so it is taken at once, and the next attempt asks the
    provider first). Marked by `updated_at`: not relayed again before another grace period, and then only after
    twice as long as the last wait (`relay_backoff`), so a backlog is not multiplied. Oldest first, through the
    partial index on pending rows."""
    now = timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.RELAY_GRACE_SECONDS)
    lease_started_before = now - dt.timedelta(seconds=settings.NOTIFICATION_SEND_LEASE_SECONDS)
    overdue = (
        NotificationLog.objects.filter(status=NotificationStatus.PENDING, next_attempt_at__lte=now)
        .filter(
            Q(next_attempt_at__lte=cutoff) | Q(in_doubt_since__isnull=False, last_attempt_at__lte=lease_started_before)
        )
        # Relayed (marked after it was due) within the grace: its message is on its way.
        .exclude(Q(updated_at__gt=cutoff) & Q(updated_at__gt=F("next_attempt_at")))
        .filter(relay_backoff(due="next_attempt_at", marked="updated_at", now=now))
    )
    pending = relay_take(
        overdue, fields=("urgent", "channel"), order_by="next_attempt_at", mark={"updated_at": now}, limit=limit
    )
    for pk, urgent, channel in pending:
        delivery_publish(notification_id=pk, urgent=urgent, channel=channel, after_commit=False)
    if pending:
        logger.warning("relay: publishing %d pending notifications again", len(pending))
    return len(pending)
