from celery import shared_task

from notifications.services import notification_deliver, notifications_relay


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def notification_deliver_task(self, notification_id: str) -> None:
    # Attempts are counted on the row (MAX_ATTEMPTS); Celery only carries the wait between them.
    retry_in = notification_deliver(notification_id=notification_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def notifications_relay_task() -> None:
    notifications_relay()
