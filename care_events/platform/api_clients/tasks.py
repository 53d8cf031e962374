from celery import shared_task

from care_events.platform.api_clients.idempotency import idempotency_records_prune


@shared_task(name="api_clients.idempotency_records_prune")
def idempotency_records_prune_task() -> None:
    idempotency_records_prune()
