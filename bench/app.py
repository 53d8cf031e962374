"""The product's Celery app, plus what bench/ and chaos/ need in the workers they start: a no-op task (the baseline
every figure is set beside, on the same broker and worker settings) and, for chaos, a handler that always raises.

    celery -A bench.app worker ...
"""

import os
import time
from typing import Any

import redis
from celery import signals

from config.celery_app import app

if os.environ.get("BENCH_TASK_EVENTS"):
    # For an A/B of task events (docs/PERFORMANCE.md): on, as before 2026-12-07, in every worker and publisher.
    app.conf.worker_send_task_events = True
    app.conf.task_send_sent_event = True

_results: redis.Redis | None = None


def results() -> redis.Redis:
    """Where the no-op task reports (database 2 of the lab's Redis): its lateness, or a count of completions."""
    global _results
    if _results is None:
        _results = redis.Redis.from_url(os.environ["BENCH_RESULTS_URL"])
    return _results


@app.task(name="bench.noop")
def noop(sent_at: float = 0.0, key: str = "") -> None:
    """Nothing, then one Redis command so that the run can be counted: RPUSH of the start's lateness behind
    `sent_at` (publish time or ETA, epoch seconds) to `key`, or INCR of `key` when sent_at is 0."""
    started = time.time()
    if not key:
        return
    if sent_at:
        results().rpush(key, started - sent_at)
    else:
        results().incr(key)


@signals.worker_process_init.connect
def _register_poison(**kwargs: Any) -> None:
    if os.environ.get("CHAOS_POISON"):
        import chaos.poison  # noqa: F401 - registers the handler
