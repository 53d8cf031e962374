"""What every figure shares: the Figure it reports, the Bench that starts and stops the lab's Celery processes, and
the helpers that make escalations, publish no-ops and wait for outcomes."""

import datetime as dt
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.lab import Servers, say, truncate_product_tables

RESULTS_DB = 2  # the lab Redis database where the no-op task reports


def load_average() -> float:
    return os.getloadavg()[0]


@dataclass
class Figure:
    name: str
    measured: str
    baseline: str
    target: str
    met: bool | None
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)  # the 1-minute load average when the figure began, and when it ended

    @property
    def verdict(self) -> str:
        return "met" if self.met else "NOT met" if self.met is False else "n/a"


@dataclass
class Bench:
    servers: Servers
    quick: bool
    sweep_interval: int
    worker_env: dict[str, str] = field(default_factory=dict)  # --worker-env: more environment for the workers
    latency_rates: list[str] = field(default_factory=lambda: ["1", "half"])  # --latency-rates
    rounds: int = 1  # --rounds: the throughput figure's no-op and escalation bursts, alternated on one warm worker
    figures: list[Figure] = field(default_factory=list)
    stack: Any = None
    throughput: float = 0.0  # escalations per second, once measured
    _load_at_start: float = 0.0

    # --- the lab's processes --------------------------------------------------------------------------------

    def overrides(self) -> dict[str, str]:
        return {
            "NOTIFICATION_SMS_BACKEND": "local",
            "BENCH_RESULTS_URL": self.servers.redis_url(RESULTS_DB),
            "SWEEP_INTERVAL_SECONDS": str(self.sweep_interval),
            "TIMER_HORIZON_SECONDS": "600",  # production's default (the test stack's is 4 s)
            "RELAY_GRACE_SECONDS": "60",
            "LOG_LEVEL": "WARNING",
            **self.worker_env,
        }

    def fresh(self, *, workers: int = 1, concurrency: int = 2, beat: bool = False) -> Any:
        """Stop what runs, empty Redis and the product's tables, then start `workers` and maybe Beat."""
        from tests.worker import CeleryStack

        self.stop()
        self.servers.redis_flushall()
        truncate_product_tables()
        self.stack = CeleryStack(overrides=self.overrides(), app="bench.app")
        if workers:
            self.stack.start_workers(count=workers, concurrency=concurrency)
        if beat:
            self.stack.start_beat()
        return self.stack

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop()
            self.stack = None

    def begin(self, title: str) -> None:
        """A figure starts: its title, and the load average it starts under."""
        self._load_at_start = load_average()
        say(f"{title} (load average {self._load_at_start:.1f})")

    def add(self, figure: Figure) -> None:
        figure.load = (self._load_at_start, load_average())
        self.figures.append(figure)
        say(f"  {figure.name}: {figure.measured} | baseline: {figure.baseline} | target: {figure.target} | "
            f"{figure.verdict}" + (f" ({figure.note})" if figure.note else "")
            + f" | load average {figure.load[0]:.1f} → {figure.load[1]:.1f}")  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------------------------


def results_redis() -> Any:
    import redis

    return redis.Redis.from_url(os.environ["BENCH_RESULTS_URL"])


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, every: float = 0.05) -> float:
    """Poll until `condition` holds; returns the monotonic time it was first seen true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def nurses_on_shift(count: int) -> list[Any]:
    from tests.tasks_app.factories import NurseShiftFactory

    return [NurseShiftFactory(nurse__max_open_tasks=30_000).nurse for _ in range(count)]


def escalation() -> Any:
    """One escalation as the product makes it: a task row saved (its post_save emits task/created), in one
    transaction as the response handler saves it (with its patient and episode, which the factory makes)."""
    from django.db import transaction

    from tests.tasks_app.factories import EscalationTaskFactory

    with transaction.atomic():
        return EscalationTaskFactory()


def sent_count() -> int:
    from notifications.models import NotificationLog

    return NotificationLog.objects.filter(type="TASK_ASSIGNED", sent_at__isnull=False).count()


def creation_to_sent() -> list[float]:
    from notifications.models import NotificationLog

    return [
        (sent - created).total_seconds()
        for sent, created in NotificationLog.objects.filter(type="TASK_ASSIGNED", sent_at__isnull=False).values_list(
            "sent_at", "task__created_at"
        )
    ]


def publish_noops(count: int, *, key: str, rate: float = 0.0, eta: Callable[[int], float] | None = None) -> None:
    """`count` no-op messages on the default queue: at `rate` per second (0: at once), or each with an ETA."""
    from bench.app import noop

    interval = 1 / rate if rate else 0.0
    start = time.monotonic()
    for n in range(count):
        if interval:
            pause = start + n * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        if eta is None:
            noop.apply_async(args=[time.time() if rate else 0.0, key], queue="default")
        else:
            when = eta(n)
            noop.apply_async(args=[when, key], queue="default", eta=dt.datetime.fromtimestamp(when, tz=dt.UTC))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def task_rows(count: int) -> list[uuid.UUID]:
    """`count` open tasks written without their save signal (no task/created): subjects for timers a figure
    schedules itself."""
    from tasks_app.models import EscalationTask
    from tests.care_events.factories import EpisodeFactory
    from tests.tasks_app.factories import EscalationTaskFactory

    episode = EpisodeFactory()
    rows = [EscalationTaskFactory.build(episode=episode, patient=episode.patient) for _ in range(count)]
    ids: list[uuid.UUID] = []
    for start in range(0, count, 5000):
        ids += [t.pk for t in EscalationTask.objects.bulk_create(rows[start : start + 5000])]
    return ids


def schedule_sla_timers(task_ids: list[uuid.UUID], due: Callable[[int], dt.datetime], batch: int = 500) -> None:
    """Both SLA timers of each task through the bus's timer_schedule, as monitor-sla does, `batch` tasks per
    transaction (each timer's fast path is published when its transaction commits)."""
    from django.db import transaction

    from care_events.platform.bus.models import TimerKind
    from care_events.platform.bus.timers import timer_schedule

    n = 0
    for start in range(0, len(task_ids), batch):
        with transaction.atomic():
            for task_id in task_ids[start : start + batch]:
                for kind in (TimerKind.SLA_WARNING, TimerKind.SLA_BREACH):
                    timer_schedule(kind=kind, subject_id=task_id, due_at=due(n))
                    n += 1
