import uuid
from typing import Any

from celery import shared_task

from care_events.platform.bus.retry import within_horizon
from notifications.services.delivery import notification_deliver, notifications_relay
from notifications.services.reconcile import notifications_reconcile


@shared_task(name="notifications.deliver", bind=True, max_retries=None)
def notification_deliver_task(self: Any, notification_id: str) -> None:
    # The row decides (its deadline, care_events.platform.bus.retry.DELIVERIES); Celery only carries the wait.
    retry_in = notification_deliver(notification_id=uuid.UUID(notification_id))
    # A wait beyond the horizon (a long Retry-After) is not held in a worker: the relay publishes it when due.
    if retry_in is not None and within_horizon(retry_in):
        raise self.retry(countdown=retry_in)


@shared_task(name="notifications.relay")
def notifications_relay_task() -> None:
    notifications_relay()


@shared_task(name="notifications.reconcile")
def notifications_reconcile_task() -> None:
    notifications_reconcile()
