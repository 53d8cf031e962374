"""Thin Celery tasks: ids in, one service call, retries. Every task here is idempotent (see the services)."""

from celery import shared_task

from care_events.api.idempotency import idempotency_records_prune
from care_events.events.bus import HandlerFailedError, handler_run_execute, handler_runs_relay
from care_events.timers import timer_fire, timers_fire_due

# acks_late + reject_on_worker_lost: a worker killed mid-task leaves the message unacked, so Redis redelivers
# it; that is safe only because the services claim their rows.
IDEMPOTENT = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(bind=True, max_retries=None, **IDEMPOTENT)
def handler_run_task(self, run_id: int) -> None:
    try:
        handler_run_execute(run_id=run_id)
    except HandlerFailedError as exc:
        if exc.retry_in is None:
            return  # final failure: recorded as FAILED on the run row, visible and re-drivable in admin
        raise self.retry(countdown=exc.retry_in) from None


@shared_task(**IDEMPOTENT)
def timer_fire_task(timer_id: int) -> None:
    # A failure is recorded on the timer and pushed back; the sweep fires it later, so no Celery retry here.
    timer_fire(timer_id=timer_id)


@shared_task(**IDEMPOTENT)
def timers_sweep_task() -> None:
    timers_fire_due()


@shared_task(**IDEMPOTENT)
def events_relay_task() -> None:
    handler_runs_relay()


@shared_task
def idempotency_records_prune_task() -> None:
    idempotency_records_prune()
