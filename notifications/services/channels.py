"""A nurse's channels: her preferred one, then her own fallback chain (or the default one), each channel once."""

from django.conf import settings

from care_events.choices import NotificationType
from tasks_app.models import Nurse


def nurse_chain(nurse: Nurse) -> list[str]:
    chain = [nurse.preferred_channel, *(nurse.fallback_channels or settings.NOTIFICATION_FALLBACK_CHAIN)]
    return list(dict.fromkeys(chain))


def nurse_first_channel(nurse: Nurse, notification_type: str) -> str:
    """The channel a nurse's message starts on: her preferred one; for the reminder of an alert she has not
    acknowledged (ACK_REMINDER, docs/handover.md), the next channel of her chain, since the first did not reach
    her in time. (A failure there moves on down the chain: notifications.services.fallback.)"""
    chain = nurse_chain(nurse)
    if notification_type == NotificationType.ACK_REMINDER and len(chain) > 1:
        return chain[1]
    return chain[0]
