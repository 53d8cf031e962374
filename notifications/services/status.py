"""A message's status only moves forward: PENDING → SENT → DELIVERED → READ, or to FAILED (from PENDING or SENT) or
CANCELLED; FAILED and CANCELLED are final. Every report takes this one path, so a duplicate or out-of-order report
(Twilio retries its callbacks and does not order them) changes nothing and is still acknowledged."""

import logging
import uuid

from django.db import transaction
from django.utils import timezone

from care_events.platform.bus.dispatch import emit
from notifications.models import NotificationLog, NotificationStatus
from notifications.services.fallback import notification_fallback

logger = logging.getLogger(__name__)

S = NotificationStatus
_RANK: dict[str, int] = {S.PENDING: 0, S.SENT: 1, S.DELIVERED: 2, S.READ: 3}
_FINAL = (S.FAILED, S.CANCELLED)

# Twilio's statuses of messages and calls, as ours. Statuses not listed (receiving, received) change nothing.
PROVIDER_STATUSES: dict[str, NotificationStatus] = {
    **dict.fromkeys(["accepted", "scheduled", "queued", "sending", "sent"], S.SENT),
    **dict.fromkeys(["initiated", "ringing", "in-progress"], S.SENT),
    "delivered": S.DELIVERED,
    "completed": S.DELIVERED,  # a call that was answered and ran to its end
    "read": S.READ,  # WhatsApp
    **dict.fromkeys(["failed", "undelivered", "busy", "no-answer", "canceled"], S.FAILED),
}


def status_moves_forward(current: str, new: str) -> bool:
    if current in _FINAL or current == new:
        return False
    if new in _FINAL:
        return current in (S.PENDING, S.SENT)
    return _RANK[new] > _RANK[current]


@transaction.atomic
def notification_status_set(
    *,
    notification_id: uuid.UUID,
    status: NotificationStatus,
    provider: str = "",
    provider_message_id: str = "",
    provider_status: str = "",
    error_code: str = "",
    error_message: str = "",
) -> bool:
    """Record a report on a message: its provider id if it had none, and its status if that moves forward. Returns
    whether the status moved. Leaving PENDING emits `notification/delivered` (the provider took it), READ emits
    `notification/read`, FAILED emits `notification/failed` and starts the fallback of an urgent alert."""
    log = NotificationLog.objects.select_for_update().get(pk=notification_id)
    fields = ["updated_at"]
    if provider_message_id and not log.provider_message_id:
        log.provider, log.provider_message_id = provider or log.provider, provider_message_id
        fields += ["provider", "provider_message_id"]
    if provider_status:
        log.provider_status = provider_status[:20]
        fields.append("provider_status")
    moved = status_moves_forward(log.status, status)
    if moved:
        previous, log.status = log.status, status
        now = timezone.now()
        log.in_doubt_since = None
        fields += ["status", "in_doubt_since"]
        if status in (S.SENT, S.DELIVERED, S.READ) and log.sent_at is None:
            log.sent_at = now
            fields.append("sent_at")
        stamp = {S.DELIVERED: "delivered_at", S.READ: "read_at", S.FAILED: "failed_at"}.get(status)
        if stamp:
            setattr(log, stamp, now)
            fields.append(stamp)
        if status in _FINAL or error_code:
            log.error_code, log.error_message = error_code, error_message[:500]
            fields += ["error_code", "error_message"]
    log.save(update_fields=fields)
    if moved:
        notification_announce(log, previous)
    return moved


def notification_announce(log: NotificationLog, previous: str) -> None:
    """The events of a status move just written on `log` (also used by an in-process delivery that writes the move
    itself: notifications.services.delivery)."""
    if previous == S.PENDING and log.status in (S.SENT, S.DELIVERED, S.READ):
        emit("notification/delivered", {"notification_id": log.pk}, once_for=(log.pk,))
    if log.status == S.READ:
        emit("notification/read", {"notification_id": log.pk}, once_for=(log.pk,))
    if log.status == S.FAILED:
        emit(
            "notification/failed",
            {"notification_id": log.pk, "error_code": log.error_code},
            once_for=(log.pk,),
        )
        notification_fallback(log=log)
    logger.info("notification %s %s -> %s", log.pk, previous, log.status)


def notification_provider_report(
    *, notification_id: uuid.UUID, provider_status: str, provider_message_id: str = "", error_code: str = ""
) -> bool:
    """A provider's own report (a status callback, reconciliation, the local backend's simulated delivery), in its
    words. A report naming another message than the one recorded on the row is ignored."""
    log = NotificationLog.objects.filter(pk=notification_id).values("provider", "provider_message_id").first()
    if log is None:
        return False
    if provider_message_id and log["provider_message_id"] and provider_message_id != log["provider_message_id"]:
        logger.warning("notification %s: a report names another provider message; ignored", notification_id)
        return False
    status = PROVIDER_STATUSES.get(provider_status.lower())
    if status is None:
        return False
    return notification_status_set(
        notification_id=notification_id,
        status=status,
        provider_message_id=provider_message_id,
        provider_status=provider_status,
        error_code=f"{log['provider']}:{error_code}" if error_code else ("" if status != S.FAILED else provider_status),
    )


def notification_mark_read(*, log: NotificationLog) -> NotificationLog:
    """The nurse read it (the API): READ unless it failed or was cancelled; again: no change."""
    notification_status_set(notification_id=log.pk, status=S.READ)
    log.refresh_from_db()
    return log
