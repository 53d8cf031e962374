"""Channel backends: `get_backend(channel)` returns the configured backend for a notification channel."""

from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from care_events.choices import Channel
from notifications.backends.base import (
    ChannelBackend,
    OutgoingMessage,
    PermanentSendError,
    SendError,
    SendResult,
    TransientSendError,
)

__all__ = [
    "ChannelBackend",
    "OutgoingMessage",
    "PermanentSendError",
    "SendError",
    "SendResult",
    "TransientSendError",
    "get_backend",
]

LOCAL_BACKEND = "notifications.backends.local.LocalBackend"
# Used only when NOTIFICATION_BACKENDS is absent altogether: nothing leaves the machine.
DEFAULT_BACKENDS = dict.fromkeys(Channel.values, LOCAL_BACKEND)

# Backends are cached so that a Twilio backend keeps its HTTP connection pool between sends.
_backends: dict[tuple[str, str], ChannelBackend] = {}


def get_backend(channel: str) -> ChannelBackend:
    configured: dict[str, str] = getattr(settings, "NOTIFICATION_BACKENDS", DEFAULT_BACKENDS)
    path = configured.get(channel)
    if not path:
        raise ImproperlyConfigured(f"NOTIFICATION_BACKENDS has no backend for channel {channel!r}")
    key = (channel, path)
    if key not in _backends:
        _backends[key] = cast(ChannelBackend, import_string(path)())
    return _backends[key]


@receiver(setting_changed, dispatch_uid="notifications.backends.clear_cache")
def _clear_backend_cache(*, setting: str, **kwargs: Any) -> None:
    # Connected at import, which always precedes the first get_backend(), so no cached backend can
    # outlive an override_settings() of NOTIFICATION_BACKENDS.
    if setting == "NOTIFICATION_BACKENDS":
        _backends.clear()
