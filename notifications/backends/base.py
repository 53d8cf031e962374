"""The contract every channel backend meets: one message in, a provider id out, or a SendError."""

import datetime as dt
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str  # a care_events.choices.Channel value
    to: str  # E.164 phone for SMS/VOICE, email address for EMAIL, device/user token for PUSH
    body: str
    subject: str = ""
    whatsapp: bool = False  # WhatsApp is a route of SMS (Twilio's "whatsapp:" prefix), not a channel
    status_callback_url: str = ""  # passed to the provider as its delivery-status webhook when non-empty
    extra: dict[str, object] | None = None  # channel-specific content: a push alert's action button (messages.py)


@dataclass(frozen=True)
class SendResult:
    provider: str
    message_id: str  # the provider's id (a Twilio SID), stored to match status webhooks later
    status: str  # the provider's word for where the message is now, e.g. Twilio's "queued" (status.PROVIDER_STATUSES)
    # When the provider took it, where that is known and earlier than now: a message found after an attempt in doubt
    # (SentLookup) left then, not when it was found.
    sent_at: dt.datetime | None = None


class SendError(Exception):
    """A send that did not happen.

    The message carries error codes only: provider error texts quote the number or the body, and exception
    messages end up in Celery results, Flower and logs, so they must never hold PHI.
    """

    retryable: bool = False
    # The request may have reached the provider before it failed (a read timeout, a dropped connection): the
    # message may have left, so the next attempt asks the provider first.
    in_doubt: bool = False

    def __init__(
        self,
        code: str,
        detail: str = "",
        *,
        in_doubt: bool = False,
        retry_after: float | None = None,
        unsubscribed: bool = False,
    ) -> None:
        self.in_doubt = in_doubt
        self.code = code
        # Seconds the provider asked us to wait (its Retry-After), if it said.
        self.retry_after = retry_after
        # The recipient told the provider to stop (Twilio 21610): the patient's consent is turned off.
        self.unsubscribed = unsubscribed
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


@runtime_checkable
class SentLookup(Protocol):
    """Optional: a backend whose provider can list what it sent. After a crash or a timeout mid-send, delivery asks
    it before sending again; a backend without it sends again (at least once)."""

    def find_sent(self, message: OutgoingMessage, *, since: dt.datetime) -> list[SendResult]:
        """Messages the provider accepted for `message` (same recipient and content) since `since`, oldest
        first. Raises SendError when the provider cannot be asked."""
        ...


@runtime_checkable
class StatusLookup(Protocol):
    """Optional: a backend whose provider can be asked where a message is now. Reconciliation asks it about messages
    whose final status never came back; the answer takes the same path as a status callback."""

    def fetch_status(self, message_id: str) -> tuple[str, str]:
        """The provider's status word for the message (e.g. "delivered") and its error code ("" if none). Raises
        SendError when the provider cannot be asked."""
        ...
