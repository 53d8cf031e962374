"""Celery's Redis transport (kombu's) with one repair: a worker survives Redis going away while it holds messages.

With `CELERY_TASK_ACKS_LATE`, a busy worker holds messages it has not acknowledged. When the broker connection
drops, Celery closes the connection and opens a new one, and kombu 5.7 then tries to use the closed channel for
those messages: putting them back on their queues at the close, or acknowledging one whose task ends after the
reconnection. The closed channel has no transport client any more, so `AttributeError: 'NoneType' object has no
attribute 'hostname'` (or `'client'`) escapes, the worker logs "Unrecoverable error" and never consumes again,
though its process stays up (`python -m chaos redis_restart_empty` and `broker_down` lost every delivery after the
fault: docs/RELIABILITY.md).

Here both are skipped once the channel is closed, which loses nothing and doubles nothing: the broker still holds
such a message for its own redelivery (Redis's unacked hash and visibility timeout) unless Redis itself lost it;
every message is the fast path of a PostgreSQL row that the relays publish again; and a message run again finds its
row claimed or done (docs/architecture.md#durability).
"""

import logging
from typing import Any

from kombu.transport import redis

logger = logging.getLogger(__name__)


class QoS(redis.QoS):
    def _closed(self) -> bool:
        transport = self.channel.connection
        return transport is None or transport.client is None

    def restore_unacked(self, client: Any = None) -> None:
        if client is None and self._closed():
            logger.warning("broker connection closed with %d unacknowledged message(s) held", len(self._delivered))
            self._delivered.clear()
            return
        super().restore_unacked(client)

    def ack(self, delivery_tag: Any) -> None:
        if self._closed():
            logger.warning("a message's acknowledgement came after its broker connection closed")
            self._delivered.pop(delivery_tag, None)
            return
        super().ack(delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if self._closed():
            logger.warning("a message's rejection came after its broker connection closed")
            self._delivered.pop(delivery_tag, None)
            return
        super().reject(delivery_tag, requeue=requeue)


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
