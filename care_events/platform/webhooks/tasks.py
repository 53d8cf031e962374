"""The webhooks' Celery tasks: ids in, one call. Stable names ("webhooks.<what>"), as the bus's tasks."""

from typing import Any

from celery import shared_task

from care_events.platform.bus.retry import within_horizon
from care_events.platform.webhooks.services import webhook_deliver, webhooks_relay


@shared_task(name="webhooks.deliver", bind=True, max_retries=None)
def webhook_deliver_task(self: Any, delivery_id: int) -> None:
    # Attempts are counted on the row (webhook_policy); Celery only carries the wait. A wait beyond the horizon is
    # not held in a worker: the relay publishes the row when it is due.
    retry_in = webhook_deliver(delivery_id=delivery_id)
    if retry_in is not None and within_horizon(retry_in):
        raise self.retry(countdown=retry_in)


@shared_task(name="webhooks.relay")
def webhooks_relay_task() -> None:
    webhooks_relay()
