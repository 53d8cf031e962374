"""An in-memory backend, like Django's locmem email backend: the embedded default; nothing leaves the host.

It answers like a provider: it takes the message ("sent"), and asked about it later says it was delivered, which
delivery records at once through the same path as a provider's status callback.
"""

import logging
import uuid

from notifications.backends.base import OutgoingMessage, SendResult

logger = logging.getLogger(__name__)

# Every message "sent" in this process, oldest first. Tests read it; clear_outbox() resets it.
outbox: list[OutgoingMessage] = []


def clear_outbox() -> None:
    # Cleared in place so that modules holding a reference to `outbox` see the same list.
    outbox.clear()


class LocalBackend:
    provider = "local"

    def message_id(self) -> str:
        """A new message's id, as `send` gives it (an in-process delivery writes it on the row before sending)."""
        return f"local-{uuid.uuid4().hex}"

    def send(self, message: OutgoingMessage, *, message_id: str | None = None) -> SendResult:
        outbox.append(message)
        message_id = message_id or self.message_id()
        logger.info("local backend stored message id=%s channel=%s", message_id, message.channel)
        return SendResult(provider=self.provider, message_id=message_id, status="sent")

    def fetch_status(self, message_id: str) -> tuple[str, str]:
        # Nothing can fail once the message is in the outbox.
        return "delivered", ""
