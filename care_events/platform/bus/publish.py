"""Publishing the Celery message of work that a row records: a handler run, a timer, a message delivery.

The row is the truth and the message only its fast path, so:
- the message is published once the row's transaction commits (`after_commit`, the default): a worker that takes it
  at once finds the row, and a transaction that rolls back publishes nothing;
- a publish that fails (the broker down, a connection reset) is logged with ids only and left to the backstop that
  finds rows without a live message (the relays, the timers' horizon job and sweep): it is never raised into the
  caller, whose writes are committed already (raising would turn a saved request into an error).
docs/architecture.md#durability.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def publish(
    task: Task,
    *,
    args: list[Any],
    queue: str,
    after_commit: bool = True,
    on_failure: Callable[[], None] | None = None,
    **options: Any,
) -> None:
    """Publish `task(*args)` on `queue` (`options`: apply_async's `shadow`, `eta`, `countdown`). `after_commit=False`
    publishes now, for a caller whose rows are committed already (a relay, the horizon job: they take their rows in
    a transaction of their own). `on_failure` runs when the publish failed, to mark the row unpublished."""
    send = functools.partial(_send, task, args=args, queue=queue, on_failure=on_failure, options=options)
    if after_commit:
        transaction.on_commit(send)
    else:
        send()


def _send(
    task: Task, *, args: list[Any], queue: str, on_failure: Callable[[], None] | None, options: dict[str, Any]
) -> None:
    try:
        task.apply_async(args=args, queue=queue, **options)
    except Exception:
        # Arguments are ids (never PHI); the exception is the broker's.
        logger.warning("could not publish %s %s; left to the relay", task.name, args, exc_info=True)
        if on_failure is not None:
            on_failure()
