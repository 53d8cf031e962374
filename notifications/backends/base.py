"""The contract every channel backend meets: one message in, a provider id out, or a SendError."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str  # a notifications.choices.Channel value
    to: str  # E.164 phone for SMS/VOICE, email address for EMAIL, device/user token for PUSH
    body: str
    subject: str = ""
    whatsapp: bool = False  # WhatsApp is a route of SMS (Twilio's "whatsapp:" prefix), not a channel
    status_callback_url: str = ""  # passed to the provider as its delivery-status webhook when non-empty


@dataclass(frozen=True)
class SendResult:
    provider: str
    message_id: str  # the provider's id (a Twilio SID), stored to match status webhooks later
    status: str  # a notifications.choices.NotificationStatus value: "SENT" or "DELIVERED"


class SendError(Exception):
    """A send that did not happen.

    The message carries error codes only: provider error texts quote the number or the body, and exception
    messages end up in Celery results, Flower and logs, so they must never hold PHI.
    """

    retryable: bool = False

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        super().__init__(f"{code}: {detail}" if detail else code)


class TransientSendError(SendError):
    """Worth retrying later: rate limits, provider 5xx, timeouts, connection errors."""

    retryable = True


class PermanentSendError(SendError):
    """Retrying cannot help: invalid or unsubscribed recipient, bad credentials, missing configuration."""

    retryable = False


class ChannelBackend(Protocol):
    provider: str

    def send(self, message: OutgoingMessage) -> SendResult: ...
