"""The bus's Celery tasks: ids in, one call, nothing else.

Every task is acknowledged late and rejected (so redelivered) when its worker dies: CELERY_TASK_ACKS_LATE and
CELERY_TASK_REJECT_ON_WORKER_LOST in config/settings/base.py. That is safe because each call claims its row first.
The backstops (the sweep, the relays, the horizon job) are routed to their own queue, `backstop`, consumed by a worker
of its own, so that no backlog of ordinary work delays them (CELERY_TASK_ROUTES).

Every task has a stable `name` ("bus.<what>"): messages in the broker, the routes, the Beat schedule and Flower
name tasks by it, so moving a module does not orphan queued messages.
"""

from typing import Any

from celery import shared_task

from care_events.platform.bus.dispatch import HandlerFailedError, handler_run_execute, handler_runs_relay
from care_events.platform.bus.health import sweep_heartbeat_record
from care_events.platform.bus.retry import within_horizon
from care_events.platform.bus.timers import timer_fire, timers_fire_due, timers_publish_horizon


@shared_task(name="bus.handler_run", bind=True, max_retries=None)
def handler_run_task(self: Any, run_id: int) -> None:
    # Attempts are counted on the run row (care_events.platform.bus.retry.HANDLER_RUNS); Celery only carries the wait.
    try:
        handler_run_execute(run_id=run_id)
    except HandlerFailedError as exc:
        if exc.retry_in is None:
            return  # final failure: recorded as FAILED on the run row, visible and re-drivable in admin
        if not within_horizon(exc.retry_in):
            return  # a wait beyond the horizon is not held in a worker: the relay publishes the run when it is due
        raise self.retry(countdown=exc.retry_in) from None


@shared_task(name="bus.timer_fire")
def timer_fire_task(timer_id: int) -> None:
    # A failure is recorded on the timer and pushed back; the sweep fires it later, so no Celery retry here.
    timer_fire(timer_id=timer_id)


@shared_task(name="bus.timers_sweep")
def timers_sweep_task() -> None:
    timers_fire_due()
    # After the sweep, not before: a sweep that fails (the database down) must not look alive to /readyz.
    sweep_heartbeat_record()


@shared_task(name="bus.events_relay")
def events_relay_task() -> None:
    handler_runs_relay()


@shared_task(name="bus.timers_publish_horizon")
def timers_publish_horizon_task() -> None:
    timers_publish_horizon()
