"""Messages a provider took (SENT) whose final status never came back (a lost callback, a callback URL the provider
could not reach): the provider is asked, and its answer takes the path of a status callback."""

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from care_events.platform.bus.retry import relay_take
from notifications.backends import get_backend
from notifications.backends.base import SendError, StatusLookup
from notifications.models import NotificationLog, NotificationStatus
from notifications.services.status import notification_provider_report

logger = logging.getLogger(__name__)


def notifications_reconcile(*, limit: int = 200) -> int:
    """Ask about the oldest messages left SENT longer than NOTIFICATION_RECONCILE_AFTER_SECONDS; each is asked again
    at most once per that period (next_attempt_at, unused once a message is sent, holds when). Returns how many
    were asked."""
    now = timezone.now()
    period = dt.timedelta(seconds=settings.NOTIFICATION_RECONCILE_AFTER_SECONDS)
    unconfirmed = NotificationLog.objects.filter(
        status=NotificationStatus.SENT, sent_at__lte=now - period, next_attempt_at__lte=now
    ).exclude(provider_message_id="")
    rows = relay_take(
        unconfirmed,
        fields=("channel", "provider_message_id"),
        order_by="sent_at",
        mark={"next_attempt_at": now + period},
        limit=limit,
    )
    for notification_id, channel, message_id in rows:
        backend = get_backend(channel)
        if not isinstance(backend, StatusLookup):
            continue
        try:
            provider_status, error_code = backend.fetch_status(message_id)
        except SendError as exc:
            logger.warning("notification %s: status lookup failed: %s", notification_id, exc.code)
            continue
        notification_provider_report(
            notification_id=notification_id,
            provider_status=provider_status,
            provider_message_id=message_id,
            error_code=error_code,
        )
    return len(rows)
