"""Writes of the notifications app: the log row first, then delivery through a channel backend.

A row with a unique dedupe key is written before any provider is called; delivery claims it, marks it in doubt,
calls the provider and stores its id, and a send left in doubt is looked up at the provider before it is sent
again. Why this never loses a message nor sends it twice: docs/architecture.md#durability (point 5).
"""

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from care_events.bus.catalogue import DEFAULT, URGENT
from care_events.bus.dispatch import emit
from care_events.bus.retry import DELIVERIES, claim, relay_take
from care_events.choices import Channel, NotificationType
from care_events.models import Episode, Patient
from notifications.backends import get_backend
from notifications.backends.base import (
    ChannelBackend,
    OutgoingMessage,
    SendError,
    SendResult,
    SentLookup,
    TransientSendError,
)
from notifications.messages import render_for_nurse, render_for_patient
from notifications.models import NotificationLog, NotificationStatus
from tasks_app.models import EscalationTask, Nurse

logger = logging.getLogger(__name__)

# Forward-only order; FAILED and CANCELLED are final.
STATUS_ORDER: list[str] = [
    NotificationStatus.PENDING,
    NotificationStatus.SENT,
    NotificationStatus.DELIVERED,
    NotificationStatus.READ,
]


def notification_create(
    *,
    notification_type: NotificationType,
    dedupe_key: str,
    recipient_nurse_id: int | None = None,
    recipient_patient_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    episode_id: uuid.UUID | None = None,
    urgent: bool = False,
) -> NotificationLog:
    """Write the log row of one message (found again if asked twice: `dedupe_key` is unique) and publish its
    delivery. The `send-notification` handler calls it with a `notification/send` payload."""
    existing = NotificationLog.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    task = EscalationTask.objects.filter(pk=task_id).first() if task_id else None
    episode = Episode.objects.filter(pk=episode_id).first() if episode_id else None
    log = NotificationLog(
        type=notification_type,
        dedupe_key=dedupe_key,
        task=task,
        episode=episode or (task.episode if task else None),
        patient_id=(task.patient_id if task else episode.patient_id if episode else None),
        urgent=urgent,
    )
    if recipient_nurse_id:
        nurse = Nurse.objects.get(pk=recipient_nurse_id)
        log.recipient_nurse, log.channel = nurse, nurse.preferred_channel
        log.subject, log.body = render_for_nurse(log.type, task)
    else:
        assert recipient_patient_id is not None  # the payload schema requires exactly one recipient
        patient = Patient.objects.get(pk=recipient_patient_id)
        log.recipient_patient, log.channel = patient, Channel.SMS
        log.subject, log.body = render_for_patient(log.type, episode, patient.preferred_language)
        if not patient.sms_consent:
            log.status, log.error_code = NotificationStatus.CANCELLED, "opted_out"
    log.save()
    if log.status == NotificationStatus.PENDING:
        transaction.on_commit(lambda: _publish_delivery(log.pk, urgent=log.urgent))
    return log


def _publish_delivery(notification_id: uuid.UUID, *, urgent: bool) -> None:
    from notifications.tasks import notification_deliver_task

    try:
        notification_deliver_task.apply_async(args=[str(notification_id)], queue=URGENT if urgent else DEFAULT)
    except Exception:
        logger.warning("could not publish delivery of %s; the relay will", notification_id, exc_info=True)


def _address(log: NotificationLog) -> str:
    if log.recipient_patient is not None:
        return log.recipient_patient.phone
    nurse = log.recipient_nurse
    assert nurse is not None  # the notif_exactly_one_recipient constraint
    # A push provider maps our nurse id to her devices; SMS and voice use her phone.
    addresses: dict[str, str] = {Channel.EMAIL: nurse.email, Channel.PUSH: f"nurse:{nurse.pk}"}
    return addresses.get(log.channel, nurse.phone)


def _claim(notification_id: uuid.UUID) -> tuple[NotificationLog, dt.datetime | None] | None:
    """Take a PENDING row whose lease is free, so two workers (or a redelivered message) never both call the
    provider. The lease is next_attempt_at pushed forward; a dead worker's lease simply expires. Returns the row
    and, when an earlier attempt may already have reached the provider, since when."""
    now = timezone.now()
    with transaction.atomic():
        log = claim(
            NotificationLog.objects.select_related("recipient_nurse", "recipient_patient").filter(
                pk=notification_id, status=NotificationStatus.PENDING, next_attempt_at__lte=now
            )
        )
        if log is None:
            return None
        in_doubt_since = log.in_doubt_since
        log.attempts += 1
        log.last_attempt_at = now
        log.next_attempt_at = now + dt.timedelta(seconds=settings.NOTIFICATION_SEND_LEASE_SECONDS)
        # Kept from the first attempt in doubt: a message that left then must still be found.
        log.in_doubt_since = in_doubt_since or now
        log.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at", "in_doubt_since", "updated_at"])
    return log, in_doubt_since


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


def notification_deliver(*, notification_id: uuid.UUID) -> int | None:
    """Send one pending notification. Returns None when done (sent, failed for good, or not ours to send),
    or the seconds to wait before the next try after a transient failure."""
    claimed = _claim(notification_id)
    if claimed is None:
        return None
    log, in_doubt_since = claimed
    message = OutgoingMessage(channel=log.channel, to=_address(log), body=log.body, subject=log.subject)
    backend = get_backend(log.channel)
    try:
        result = _already_sent(log, message, backend, in_doubt_since) if in_doubt_since else None
    except Exception as exc:
        # The provider could not be asked: the message stays in doubt and is not sent blind.
        return _record_send_error(log, _as_send_error(log, exc), in_doubt=True)
    if result is not None:
        logger.warning("notification %s: an earlier attempt reached the provider; not sent again", log.pk)
    elif log.recipient_patient is not None and not log.recipient_patient.sms_consent:
        _finish(log, NotificationStatus.CANCELLED, error_code="opted_out")
        return None
    else:
        try:
            result = backend.send(message)
        except Exception as exc:
            error = _as_send_error(log, exc)
            return _record_send_error(log, error, in_doubt=error.in_doubt)
    with transaction.atomic():
        log.provider, log.provider_message_id = result.provider, result.message_id
        log.save(update_fields=["provider", "provider_message_id"])
        _finish(log, result.status)
        emit("notification/delivered", {"notification_id": log.pk}, idempotency_key=f"delivered:{log.pk}")
    logger.info("notification %s sent via %s (%s)", log.pk, result.provider, result.message_id)
    return None


def _as_send_error(log: NotificationLog, exc: Exception) -> SendError:
    if isinstance(exc, SendError):
        return exc
    # A bug in a backend is retried like an outage and counted, so it ends FAILED instead of looping; the class
    # name only, since a provider's own text can quote the number or the body. Whether the message left is
    # unknown, so the next attempt asks the provider first.
    logger.error("notification %s: backend raised %s", log.pk, type(exc).__name__)
    return TransientSendError("backend_error", type(exc).__name__, in_doubt=True)


def _record_send_error(log: NotificationLog, exc: SendError, *, in_doubt: bool) -> int | None:
    """`in_doubt`: the message may have left (a timeout, a crash, a lookup that failed), so the next attempt asks
    the provider first; otherwise the provider answered the send with an error and nothing left."""
    logger.warning("notification %s attempt %d failed: %s", log.pk, log.attempts, exc.code)
    in_doubt_since = log.in_doubt_since if in_doubt else None
    retry_in = DELIVERIES.retry_in(log.attempts) if exc.retryable else None
    if retry_in is not None:
        NotificationLog.objects.filter(pk=log.pk, status=NotificationStatus.PENDING).update(
            error_code=exc.code,
            error_message=str(exc)[:500],
            next_attempt_at=timezone.now() + dt.timedelta(seconds=retry_in),
            in_doubt_since=in_doubt_since,
            updated_at=timezone.now(),
        )
        return retry_in
    with transaction.atomic():
        _finish(log, NotificationStatus.FAILED, error_code=exc.code, error_message=str(exc)[:500])
        emit(
            "notification/failed",
            {"notification_id": log.pk, "error_code": exc.code},
            idempotency_key=f"failed:{log.pk}",
        )
    return None


def _finish(log: NotificationLog, status: str, *, error_code: str = "", error_message: str = "") -> None:
    now = timezone.now()
    by_status: dict[str, dict[str, dt.datetime]] = {
        NotificationStatus.SENT: {"sent_at": now},
        NotificationStatus.DELIVERED: {"sent_at": now, "delivered_at": now},
        NotificationStatus.FAILED: {"failed_at": now},
    }
    stamps = by_status.get(status, {})
    NotificationLog.objects.filter(pk=log.pk).update(
        status=status,
        error_code=error_code,
        error_message=error_message,
        in_doubt_since=None,
        updated_at=now,
        **stamps,
    )


def notification_status_advance(*, log: NotificationLog, status: str) -> bool:
    """Move a log forward (SENT → DELIVERED → READ); a late or repeated provider callback never moves it back."""
    if log.status not in STATUS_ORDER or status not in STATUS_ORDER:
        return False
    if STATUS_ORDER.index(status) <= STATUS_ORDER.index(log.status):
        return False
    stamps: dict[str, str] = {NotificationStatus.DELIVERED: "delivered_at", NotificationStatus.READ: "read_at"}
    stamp = stamps.get(status)
    updates: dict[str, object] = {"status": status, "updated_at": timezone.now()}
    if stamp:
        updates[stamp] = timezone.now()
    return bool(NotificationLog.objects.filter(pk=log.pk, status=log.status).update(**updates))


@transaction.atomic
def notification_mark_read(*, log: NotificationLog) -> NotificationLog:
    if notification_status_advance(log=log, status=NotificationStatus.READ):
        emit("notification/read", {"notification_id": log.pk}, idempotency_key=f"read:{log.pk}")
    log.refresh_from_db()
    return log


def notifications_relay(*, limit: int = 500) -> int:
    """Publish again every pending notification whose next try is due over RELAY_GRACE_SECONDS ago (lost message,
    dead worker's lease expired, Redis flushed). Marked by moving next_attempt_at to now: still claimable at once,
    and not relayed again before another grace period."""
    now = timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.RELAY_GRACE_SECONDS)
    overdue = NotificationLog.objects.filter(status=NotificationStatus.PENDING, next_attempt_at__lte=cutoff)
    pending = relay_take(
        overdue, fields=("urgent",), order_by="next_attempt_at", mark={"next_attempt_at": now}, limit=limit
    )
    for pk, urgent in pending:
        _publish_delivery(pk, urgent=urgent)
    if pending:
        logger.warning("relay: publishing %d pending notifications again", len(pending))
    return len(pending)
