"""A message's status only moves forward: PENDING → SENT → DELIVERED → READ, or to FAILED (from PENDING or SENT) or
CANCELLED; FAILED and CANCELLED are final. Every report takes this one path, so a duplicate or out-of-order report
(Twilio retries its callbacks and does not order them) changes nothing and is still acknowledged.

One alert, one delivery: once a row reaches the nurse (`reached_q`), the other rows of its alert still waiting are
given up here, "delivered by EMAIL at 19:52 UTC"."""

import datetime as dt
import logging
import uuid

from django.db import transaction
from django.utils import timezone

from care_events.platform.bus.dispatch import emit
from notifications.models import NO_DELIVERY_REPORTS, GiveUpReason, NotificationLog, NotificationStatus, reached_q
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
    sent_at: dt.datetime | None = None,
) -> bool:
    """Record a report on a message: its provider id if it had none, and its status if that moves forward (`sent_at`:
    when the provider took it, if that was before now). Returns whether the status moved. Leaving PENDING emits
    `notification/delivered` (the provider took it), READ emits `notification/read`, FAILED emits
    `notification/failed` and starts the fallback of an urgent alert."""
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
            log.sent_at = min(sent_at or now, now)
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
        if log.status in (S.DELIVERED, S.READ) or (log.status == S.SENT and log.channel in NO_DELIVERY_REPORTS):
            _others_give_up(log)
    return moved


def reached_words(log: NotificationLog) -> str:
    """How a row reached the nurse, for the rows of its alert given up for it."""
    when = log.read_at or log.delivered_at or log.sent_at or timezone.now()
    return f"delivered by {log.channel} at {when.astimezone(dt.UTC):%H:%M} UTC"


def _others_give_up(log: NotificationLog) -> None:
    """`log` reached the nurse: the other rows of its alert waiting for a try are CANCELLED, under their lock. A
    claim holding one already sends it (that try is recorded as it goes); a claim after this finds it CANCELLED. A
    row whose attempt is in doubt is left to its next try, which asks the provider and then gives it up."""
    waiting = NotificationLog.objects.filter(
        alert_id=log.alert_id, status=S.PENDING, in_doubt_since__isnull=True
    ).exclude(pk=log.pk)
    words = reached_words(log)
    for pk in waiting.select_for_update().order_by("pk").values_list("pk", flat=True):
        notification_status_set(
            notification_id=pk, status=S.CANCELLED, error_code=GiveUpReason.DELIVERED_ELSEWHERE, error_message=words
        )


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
    """The nurse read the alert (the API, by the id of any of its rows): the row of its chain that reached her
    becomes READ, else the latest one still open, else `log` (READ unless it failed or was cancelled; again: no
    change). The chain's waiting rows are then given up (`_others_give_up`)."""
    chain = NotificationLog.objects.filter(alert_id=log.alert_id)
    target = (
        chain.filter(reached_q()).order_by("sent_at").first()
        or chain.exclude(status__in=_FINAL).order_by("-created_at").first()
        or log
    )
    notification_status_set(notification_id=target.pk, status=S.READ)
    log.refresh_from_db()
    return log
