"""Is the bus moving? Readiness checks as django-health-check plugins, and the JSON view the probes answer with.

`/readyz` (config/urls.py) runs django-health-check's own Database and Redis (the Celery broker) checks and these:

- `TimerSweep`: Beat's timer sweep ran within 2 x SWEEP_INTERVAL_SECONDS. The sweep is the backstop of every timer
  and the relays run on the same schedule, so a stale sweep means Beat (or the backstop queue's worker) is down.
- `UndispatchedRuns`: no pending handler run has waited past READY_MAX_PENDING_RUN_AGE_SECONDS without a message
  that could still be live (never published, or published longer ago than the relay's grace and one sweep).
- `LateTimers`: no pending timer is overdue by more than READY_MAX_LATE_TIMER_SECONDS.
- `FailedWork`: never fails; reports how many handler runs and timers gave up (re-drive them from admin).

Everything reported is a count or an age in seconds: anonymous callers may read it (no PHI). Operations guide:
docs/operations.md.
"""

import abc
import asyncio
import dataclasses
import datetime as dt
import logging
from typing import Any

import redis.asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from care_events.platform.bus.models import HandlerRun, Timer

logger = logging.getLogger(__name__)

# When the timer sweep last finished, as a UNIX timestamp in the shared cache (Redis, CACHES["default"]). A cache
# key rather than a row: the sweep runs every 30 s and a row would be a write (and WAL, and vacuum) that carries no
# record worth keeping; the value means nothing once it is a minute old, and the web processes and the workers
# already share this cache. If it is flushed, the probe fails until the next sweep rewrites it (30 s): a flushed
# Redis is worth a look anyway. No expiry, so a long-dead Beat reads "ran 3600 s ago" rather than "never ran".
SWEEP_HEARTBEAT_KEY = "bus:timer-sweep:last-finished"


def sweep_heartbeat_record() -> None:
    """Note that a timer sweep has just finished. A cache that does not answer is logged, not raised: the sweep
    itself succeeded, and the probe will report the cache's state."""
    try:
        cache.set(SWEEP_HEARTBEAT_KEY, timezone.now().timestamp(), timeout=None)
    except Exception:
        logger.warning("could not record the timer sweep's heartbeat in the cache", exc_info=True)


def sweep_heartbeat_age() -> float | None:
    """Seconds since the timer sweep last finished; None if it never did (as far as the cache knows)."""
    finished = cache.get(SWEEP_HEARTBEAT_KEY)
    if finished is None:
        return None
    return max(0.0, timezone.now().timestamp() - float(finished))


def oldest_undispatched_run_age(now: dt.datetime) -> float | None:
    """Seconds the oldest pending handler run has been due with no message that could still be live: never
    published (the broker was down at commit), or published longer ago than the relay's grace plus one sweep (the
    relay would have published it again by then). None when there is none.

    Counted from `next_attempt_at` (its creation, or the end of its backoff), so a run waiting out a retry is not
    late. The scan follows the partial index on pending runs (run_pending_idx), oldest first, and stops at the
    first match."""
    oldest = undispatched_runs(now).order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()
    return None if oldest is None else (now - oldest).total_seconds()


def undispatched_runs(now: dt.datetime) -> QuerySet[HandlerRun]:
    """Pending runs due now with no message that could still be live (see oldest_undispatched_run_age)."""
    published_before = now - dt.timedelta(seconds=settings.RELAY_GRACE_SECONDS + settings.SWEEP_INTERVAL_SECONDS)
    return HandlerRun.objects.filter(status=HandlerRun.Status.PENDING, next_attempt_at__lte=now).filter(
        Q(enqueued_at=None) | Q(enqueued_at__lt=published_before)
    )


def stuck_run_count(now: dt.datetime) -> int:
    """Runs /readyz fails for: undispatched and due for longer than READY_MAX_PENDING_RUN_AGE_SECONDS."""
    limit = dt.timedelta(seconds=settings.READY_MAX_PENDING_RUN_AGE_SECONDS)
    return undispatched_runs(now).filter(next_attempt_at__lte=now - limit).count()


def oldest_late_timer_age(now: dt.datetime) -> float | None:
    """Seconds the most overdue pending timer is past its due_at; None when no pending timer is due (the partial
    index timer_due_idx, first row only)."""
    oldest = Timer.objects.pending().filter(due_at__lte=now).order_by("due_at").values_list("due_at", flat=True).first()
    return None if oldest is None else (now - oldest).total_seconds()


def failed_work_counts() -> dict[str, int]:
    """Handler runs and timers that gave up after their attempts and wait for an operator's re-drive."""
    return {
        "failed_handler_runs": HandlerRun.objects.filter(status=HandlerRun.Status.FAILED).count(),
        "failed_timers": Timer.objects.exclude(failed_at=None).count(),
    }


def broker_client() -> redis.asyncio.Redis:
    """A client of the Celery broker, read from settings at each probe (so a changed setting is honoured). Short
    timeouts and no retries: a probe must answer within its own timeout, and a refused connection is the answer."""
    return redis.asyncio.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2, retry=None
    )


@dataclasses.dataclass
class BusCheck(HealthCheck):
    """A check of the bus's rows. It keeps what it measured in `info` (counts and ages, shown by the probe).

    The ORM runs through `sync_to_async`'s thread-sensitive executor: in the thread of the request, on its database
    connection, which Django closes or recycles at the end of the request like any view's (a pool thread's
    connection would be left open)."""

    info: dict[str, float | int | None] = dataclasses.field(default_factory=dict, repr=False)

    async def run(self) -> None:
        try:
            await sync_to_async(self.measure)()
        except DatabaseError as exc:
            # Named, rather than the package's "unknown error"; the class only, as in every log line of the bus.
            raise ServiceUnavailable(f"could not read the bus's rows: {type(exc).__name__}") from exc

    @abc.abstractmethod
    def measure(self) -> None:
        """Record in `info`; raise ServiceUnavailable when the bus is not moving."""


@dataclasses.dataclass
class TimerSweep(BusCheck):
    def measure(self) -> None:
        stale_after = 2 * settings.SWEEP_INTERVAL_SECONDS
        try:
            age = sweep_heartbeat_age()
        except Exception as exc:
            raise ServiceUnavailable("the cache holding the timer sweep's heartbeat does not answer") from exc
        self.info["timer_sweep_age_seconds"] = None if age is None else round(age)
        if age is None:
            raise ServiceUnavailable("the timer sweep has not run: is Celery Beat running?")
        if age > stale_after:
            raise ServiceUnavailable(
                f"the timer sweep last ran {age:.0f} s ago (stale after {stale_after} s): is Celery Beat running, "
                "and a worker on the backstop queue?"
            )


@dataclasses.dataclass
class UndispatchedRuns(BusCheck):
    def measure(self) -> None:
        age = oldest_undispatched_run_age(timezone.now())
        self.info["oldest_undispatched_run_seconds"] = None if age is None else round(age)
        limit = settings.READY_MAX_PENDING_RUN_AGE_SECONDS
        if age is not None and age > limit:
            raise ServiceUnavailable(
                f"a pending handler run has waited {age:.0f} s without a live message (limit {limit} s): "
                "is the relay (Beat) running, and can the broker take messages?"
            )


@dataclasses.dataclass
class LateTimers(BusCheck):
    def measure(self) -> None:
        age = oldest_late_timer_age(timezone.now())
        self.info["oldest_late_timer_seconds"] = None if age is None else round(age)
        limit = settings.READY_MAX_LATE_TIMER_SECONDS
        if age is not None and age > limit:
            raise ServiceUnavailable(
                f"a pending timer is {age:.0f} s past due (limit {limit} s): is the sweep firing timers?"
            )


@dataclasses.dataclass
class FailedWork(BusCheck):
    """Information, not a failure: work that gave up is an operator's job (admin's re-drive and re-arm), and the
    system is otherwise serving."""

    def measure(self) -> None:
        self.info.update(failed_work_counts())


class ProbeView(HealthCheckView):
    """django-health-check's view for machines: JSON whatever the Accept header, and 503 when a check fails (the
    package answers 500, which reads as a crash of the probe rather than "not ready").

    `{"status": "ok" | "unavailable", "checks": {<check>: "OK" | <why>}, "info": {<measure>: <count or age>}}`.
    The checks are given per URL: `ProbeView.as_view(checks=[...])`, the package's own way."""

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        with self.get_executor() as executor:
            self.results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        failed = any(result.error for result in self.results)
        return self.render_to_response_json(503 if failed else 200)

    def render_to_response_json(self, status: int) -> JsonResponse:
        info: dict[str, float | int | None] = {}
        for result in self.results:
            if isinstance(result.check, BusCheck):
                info.update(result.check.info)
        return JsonResponse(
            {
                "status": "ok" if status == 200 else "unavailable",
                "checks": {repr(result.check): str(result.error) if result.error else "OK" for result in self.results},
                "info": info,
            },
            status=status,
        )
