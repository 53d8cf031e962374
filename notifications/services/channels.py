"""A nurse's channels: her preferred one, then her own fallback chain (or the default one), each channel once; and
which of them an alert that did not reach her tries next."""

from collections.abc import Iterable

from django.conf import settings

from care_events.choices import NotificationType
from notifications.backends import get_backend
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


def channel_provider(channel: str) -> str:
    """Who carries the channel's messages (the configured backend's provider: SMS and voice are both Twilio's)."""
    return get_backend(channel).provider


def next_channel(chain: list[str], tried: Iterable[str]) -> str | None:
    """The channel an alert tries after `tried` (the channels it has been on, none of which reached her): the first
    of `chain` not tried whose provider is none of the tried channels' (after SMS failed, email or push before
    voice, which is Twilio's too), if any, else the first not tried. None: every channel has been tried."""
    tried = set(tried)
    left = [channel for channel in chain if channel not in tried]
    failing = {channel_provider(channel) for channel in tried}
    elsewhere = [channel for channel in left if channel_provider(channel) not in failing]
    return next(iter(elsewhere or left), None)
