"""The performance bench: every figure of docs/PERFORMANCE.md beside a baseline measured in the same run.

    .venv/bin/python -m bench [--quick] [--only throughput,cost,latency,timers,memory,sweep,fairness]

It starts its own PostgreSQL and Redis (bench/lab.py: 127.0.0.1:54400 and :63900, data in .run/lab), its own
Celery workers (the product's app plus a no-op task, bench/app.py) and Beat where a figure needs it, and stops all
of them when it ends. Notifications go to the local backend (notifications/backends/local.py): nothing leaves the
machine. Prints one line per figure; the whole table again at the end, and as JSON in .run/lab/bench.json.
"""

import argparse
import datetime as dt
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.lab import (  # noqa: E402 - the repository root goes on sys.path first
    Servers,
    lab_start,
    percentile,
    process_rss_mb,
    say,
    stop_process_group,
)

RESULTS_DB = 2  # the lab Redis database where the no-op task reports


@dataclass
class Figure:
    name: str
    measured: str
    baseline: str
    target: str
    met: bool | None
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Bench:
    servers: Servers
    quick: bool
    sweep_interval: int
    figures: list[Figure] = field(default_factory=list)
    stack: Any = None
    throughput: float = 0.0  # escalations per second, once measured

    # --- the lab's processes --------------------------------------------------------------------------------

    def overrides(self) -> dict[str, str]:
        return {
            "NOTIFICATION_SMS_BACKEND": "local",
            "BENCH_RESULTS_URL": self.servers.redis_url(RESULTS_DB),
            "SWEEP_INTERVAL_SECONDS": str(self.sweep_interval),
            "TIMER_HORIZON_SECONDS": "600",  # production's default (the test stack's is 4 s)
            "RELAY_GRACE_SECONDS": "60",
            "LOG_LEVEL": "WARNING",
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

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        say(f"  {figure.name}: {figure.measured} | baseline: {figure.baseline} | target: {figure.target} | "
            f"{'met' if figure.met else 'NOT met' if figure.met is False else 'n/a'}"
            + (f" ({figure.note})" if figure.note else ""))  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------------------------


def results_redis() -> Any:
    import redis

    return redis.Redis.from_url(os.environ["BENCH_RESULTS_URL"])


def truncate_product_tables() -> None:
    from django.apps import apps
    from django.db import connection

    # The audit trail is append-only (its trigger refuses TRUNCATE): it keeps the earlier runs' rows, harmlessly.
    audit_table = apps.get_model("care_events", "AuditEntry")._meta.db_table
    tables = [
        model._meta.db_table
        for label in ("care_events", "tasks_app", "notifications")
        for model in apps.get_app_config(label).get_models()
        if model._meta.db_table != audit_table
    ]
    with connection.cursor() as cursor:
        quoted = ", ".join(connection.ops.quote_name(t) for t in tables)
        cursor.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")


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


# --- figures ---------------------------------------------------------------------------------------------------


def throughput(bench: Bench) -> None:
    say("pipeline throughput (one worker, concurrency 2)")
    n_noop, n_esc = (500, 100) if bench.quick else (3000, 400)
    bench.fresh(workers=1)
    nurses_on_shift(10)
    r = results_redis()
    publish_noops(50, key="warm")  # the pool's first tasks pay for imports and connections
    wait_for(lambda: int(r.get("warm") or 0) == 50, timeout=60, what="warm-up no-ops")
    started = time.monotonic()
    publish_noops(n_noop, key="tp")
    done = wait_for(lambda: int(r.get("tp") or 0) >= n_noop, timeout=600, what="no-op tasks", every=0.01)
    noop_rate = n_noop / (done - started)

    from django.db import transaction

    escalation()  # warm-up: the first assignment pays for imports and connections
    wait_for(lambda: sent_count() == 1, timeout=60, what="the warm-up escalation")
    started = time.monotonic()
    with transaction.atomic():
        for _ in range(n_esc):
            escalation()
    done = wait_for(lambda: sent_count() == n_esc + 1, timeout=900, what="escalations sent", every=0.05)
    rate = n_esc / (done - started)
    ratio = rate / noop_rate
    bench.throughput = rate
    bench.add(
        Figure(
            "pipeline throughput",
            f"{rate:.1f} escalations/s ({n_esc} created in one transaction → all TASK_ASSIGNED sent)",
            f"{noop_rate:.0f} no-op tasks/s ({n_noop})",
            "≥ 0.20 of the no-op rate",
            ratio >= 0.20,
            f"ratio {ratio:.3f}",
            {"escalations_per_s": rate, "noop_per_s": noop_rate, "ratio": ratio},
        )
    )


class Monitor:
    """Redis MONITOR in a thread: every command the server runs, with its time."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.commands: list[tuple[float, str]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stop = False

    def _run(self) -> None:
        with self.client.monitor() as monitor:
            for entry in monitor.listen():
                if self._stop:
                    return
                self.commands.append((float(entry["time"]), entry["command"]))

    def start(self) -> "Monitor":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop = True
        self.client.ping()  # one more command wakes the listener up

    def between(self, start: float, end: float) -> list[str]:
        return [command for at, command in list(self.commands) if start <= at <= end]


def message_name(command: str) -> str:
    """What a published message runs, as Flower shows it: its shadow name, else its task's name."""
    shadow = re.search(r'"shadow": "([^"]+)"', command)
    task = re.search(r'"task": "([^"]+)"', command)
    return shadow.group(1) if shadow else task.group(1).rsplit(".", 1)[-1] if task else "?"


def pg_commits(servers: Servers) -> tuple[int, int]:
    """The lab database's committed transactions (read-only ones too), and the cluster's next transaction id: ids
    are only assigned to transactions (and savepoints) that write, and reading it assigns none."""
    import psycopg

    from bench.lab import DB_NAME

    with psycopg.connect(servers.admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, pg_snapshot_xmax(pg_current_snapshot())::text::bigint FROM pg_stat_database "
            "WHERE datname = %s",
            [DB_NAME],
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def cost(bench: Bench) -> None:
    say("Celery messages, Redis commands and PostgreSQL commits per escalation (one worker, no Beat)")
    count = 10 if bench.quick else 30
    bench.fresh(workers=1)
    nurses_on_shift(10)
    escalation()  # warm-up
    wait_for(lambda: sent_count() == 1, timeout=60, what="the warm-up escalation")
    time.sleep(12)  # PostgreSQL flushes an idle backend's statistics within 10 s
    monitor = Monitor(bench.servers.redis_url()).start()
    time.sleep(1)
    idle_start = time.time()
    time.sleep(5)
    idle_end = time.time()
    commits_before = pg_commits(bench.servers)
    window_start = time.time()
    for _ in range(count):
        escalation()
    # Each poll is one autocommit transaction of this process: counted, and taken off the total.
    polls = 0
    while True:
        polls += 1
        if sent_count() == count + 1:
            break
        time.sleep(0.5)
    time.sleep(2)  # the delivery's last writes after sent_at (the local backend's "delivered")
    window_end = time.time()
    time.sleep(12)
    commits_after, xids_after = pg_commits(bench.servers)
    commits, xids = commits_after - commits_before[0] - polls, xids_after - commits_before[1]
    monitor.stop()
    idle = len(monitor.between(idle_start, idle_end)) / (idle_end - idle_start)
    window = monitor.between(window_start, window_end)
    verbs = Counter(command.split(" ", 1)[0].upper() for command in window)
    messages = [c for c in window if re.match(r"LPUSH (default|urgent|backstop) ", c)]
    names = Counter(message_name(c) for c in messages)
    total = (len(window) - idle * (window_end - window_start)) / count
    per = {
        "messages": len(messages) / count,
        "publish": verbs["PUBLISH"] / count,
        "redis_commands": total,
        "commits": commits / count,
        "write_xids": xids / count,
        "message_names": {name: n / count for name, n in names.items()},
    }
    bench.add(
        Figure(
            "Celery messages per escalation",
            f"{per['messages']:.1f} messages ({', '.join(f'{k} {v:g}' for k, v in sorted(names.items()))} "
            f"over {count}); {per['publish']:.1f} PUBLISH of task events; ≈{total:.0f} Redis commands",
            "—",
            "≤ 5 messages",
            per["messages"] <= 5,
            data=per,
        )
    )
    bench.add(
        Figure(
            "PostgreSQL commits per escalation",
            f"{per['commits']:.1f} commits (pg_stat_database.xact_commit: every transaction, read-only ones too); "
            f"{per['write_xids']:.1f} transaction ids assigned (transactions and savepoints that wrote)",
            "—",
            "≤ 10 commits",
            per["write_xids"] <= 10,
        )
    )


def latency(bench: Bench) -> None:
    rate, seconds = (10, 15) if bench.quick else (20, 60)
    _latency_at(bench, rate, seconds)
    if bench.throughput and bench.throughput < rate:
        # Above its throughput the pipeline only queues up; also measured where it keeps up.
        _latency_at(bench, max(1, int(bench.throughput / 2)), seconds)


def _latency_at(bench: Bench, rate: int, seconds: int) -> None:
    say(f"latency at a steady {rate}/s for {seconds} s (one worker, concurrency 2)")
    bench.fresh(workers=1)
    nurses_on_shift(10)
    r = results_redis()
    publish_noops(20, key="warm")
    wait_for(lambda: int(r.get("warm") or 0) == 20, timeout=60, what="warm-up no-ops")
    publish_noops(rate * seconds, key="lat", rate=rate)
    wait_for(lambda: r.llen("lat") == rate * seconds, timeout=300, what="no-op latencies")
    noop = [float(v) for v in r.lrange("lat", 0, -1)]

    escalation()
    wait_for(lambda: sent_count() == 1, timeout=60, what="the warm-up escalation")
    from notifications.models import NotificationLog

    NotificationLog.objects.all().update(sent_at=None)  # the warm-up is not measured
    start = time.monotonic()
    for n in range(rate * seconds):
        pause = start + n / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        escalation()
    wait_for(lambda: sent_count() == rate * seconds, timeout=900, what="escalations sent", every=0.5)
    values = creation_to_sent()
    p50, p99, worst = statistics.median(values), percentile(values, 99), max(values)
    n50, n99 = statistics.median(noop), percentile(noop, 99)
    bench.add(
        Figure(
            f"latency creation → SENT at {rate}/s",
            f"p50 {ms(p50)}, p99 {ms(p99)}, max {ms(worst)} ({len(values)} at {rate}/s for {seconds} s)",
            f"no-op publish → start p50 {ms(n50)}, p99 {ms(n99)}, max {ms(max(noop))}",
            "p99 < 150 ms and ≤ 10x the no-op p99",
            p99 < 0.150 and p99 <= 10 * n99,
            f"{p99 / n99:.0f}x the no-op p99",
            {"rate": rate, "p50": p50, "p99": p99, "max": worst, "noop_p50": n50, "noop_p99": n99},
        )
    )


def timers(bench: Bench) -> None:
    count, spread = (200, (5.0, 20.0)) if bench.quick else (1000, (10.0, 60.0))
    say(f"timer lateness: {count} SLA timers due within {spread[1]:.0f} s (one worker, Beat, sweep every "
        f"{bench.sweep_interval} s)")  # fmt: skip
    from django.utils import timezone

    from care_events.platform.bus.models import Timer

    def due_at(base: float) -> Callable[[int], dt.datetime]:
        low, high = spread
        return lambda n: dt.datetime.fromtimestamp(base + low + (high - low) * n / count, tz=dt.UTC)

    # Plain Celery: the same number of ETA messages.
    bench.fresh(workers=1, beat=True)
    r = results_redis()
    base = time.time()
    publish_noops(count, key="eta", eta=lambda n: due_at(base)(n).timestamp())
    wait_for(lambda: r.llen("eta") == count, timeout=spread[1] + 60, what="ETA no-ops")
    plain = [float(v) for v in r.lrange("eta", 0, -1)]

    def lateness() -> list[float]:
        return [
            (f - d).total_seconds() for f, d in Timer.objects.exclude(fired_at=None).values_list("fired_at", "due_at")
        ]

    # The product's fast path.
    bench.fresh(workers=1, beat=True)
    tasks = task_rows(count // 2)
    schedule_sla_timers(tasks, due_at(time.time()))
    wait_for(
        lambda: Timer.objects.exclude(fired_at=None).count() == count,
        timeout=spread[1] + 2 * bench.sweep_interval + 60,
        what="timers fired",
        every=0.5,
    )
    fast = lateness()

    # After FLUSHALL and a killed worker right after scheduling.
    stack = bench.fresh(workers=1, beat=True)
    tasks = task_rows(count // 2)
    schedule_sla_timers(tasks, due_at(time.time()))
    stack.kill_workers()
    bench.servers.redis_flushall()
    stack.start_workers(count=1, concurrency=2)
    wait_for(
        lambda: (
            not Timer.objects.pending().filter(due_at__lte=timezone.now()).exists()
            and timezone.now() > max(t for t in Timer.objects.values_list("due_at", flat=True))
        ),
        timeout=spread[1] + 2 * bench.sweep_interval + 60,
        what="timers fired after the wipe",
        every=0.5,
    )
    wiped = lateness()
    fired = Timer.objects.exclude(fired_at=None).count()
    twice = Timer.objects.filter(attempts__gt=1).count()
    p50, p99 = statistics.median(fast), percentile(fast, 99)
    bench.add(
        Figure(
            "timer lateness (fast path)",
            f"p50 {ms(p50)}, p99 {ms(p99)}, max {ms(max(fast))} ({len(fast)} timers)",
            f"plain Celery ETA p50 {ms(statistics.median(plain))}, p99 {ms(percentile(plain, 99))}, "
            f"max {ms(max(plain))}",
            "p99 < 30 ms",
            p99 < 0.030,
            data={"p50": p50, "p99": p99, "max": max(fast)},
        )
    )
    bound = bench.sweep_interval + 1
    bench.add(
        Figure(
            "timer lateness after FLUSHALL + killed worker",
            f"{fired}/{count} fired, {twice} more than once; lateness p50 {statistics.median(wiped):.1f} s, "
            f"max {max(wiped):.1f} s",
            "plain Celery: every ETA message is gone with the wipe",
            f"each fires once, max ≤ sweep interval + 1 s = {bound} s",
            fired == count and twice == 0 and max(wiped) <= bound,
            data={"fired": fired, "twice": twice, "max": max(wiped)},
        )
    )


def _queue_depth(stack: Any) -> int:
    return int(stack.broker.llen("default")) + int(stack.broker.llen("urgent"))


def _unacked(stack: Any) -> int:
    return int(stack.broker.hlen("unacked"))


def _restart_to_first_task(bench: Bench, stack: Any) -> float:
    """Start a worker and time it until it runs a task published as it starts."""
    r = results_redis()
    r.delete("probe")
    started = time.monotonic()
    stack.start_workers(count=1, concurrency=2, backstop=False)
    from bench.app import noop

    noop.apply_async(args=[0.0, "probe"], queue="urgent")
    return wait_for(lambda: r.get("probe"), timeout=900, what="the probe task", every=0.05) - started


def _memory_point(bench: Bench, stack: Any, fill: Callable[[], int]) -> dict[str, float]:
    from care_events.platform.bus.models import Timer

    idle_rss = process_rss_mb(stack.workers[0].pid)
    published = fill()
    wait_for(lambda: _queue_depth(stack) == 0, timeout=1800, what="the worker to take every message", every=1)
    time.sleep(3)
    worker = stack.workers[0]
    rss = process_rss_mb(worker.pid)
    redis_mb = int(stack.broker.info("memory")["used_memory"]) / 1e6
    held = _unacked(stack)
    stop = stop_process_group(worker, sig=signal.SIGTERM, timeout=600)
    stack.workers.remove(worker)
    restart = _restart_to_first_task(bench, stack)
    return {
        "idle_rss_mb": idle_rss,
        "rss_mb": rss,
        "redis_mb": redis_mb,
        "messages_held": held,
        "published": published,
        "timer_rows": Timer.objects.count(),
        "stop_s": stop,
        "restart_s": restart,
    }


def _memory_line(size: int, point: dict[str, float]) -> str:
    return (
        f"{size}: RSS {point['rss_mb']:.0f} MB, Redis {point['redis_mb']:.1f} MB, stop {point['stop_s']:.1f} s, "
        f"restart {point['restart_s']:.1f} s"
    )


def memory(bench: Bench, sizes: list[int]) -> None:
    say(f"memory and restart with {', '.join(map(str, sizes))} open tasks (one worker, concurrency 2)")
    rows = []
    for size in sizes:

        def product(size: int = size) -> int:
            from django.utils import timezone

            now = timezone.now()
            ids = task_rows(size)
            # SLAs hours ahead: 2 h to 8 h, as HIGH and MODERATE tasks are.
            schedule_sla_timers(ids, lambda n: now + dt.timedelta(hours=2, seconds=n % (6 * 3600)), batch=1000)
            return 2 * size

        def plain(size: int = size) -> int:
            base = time.time() + 2 * 3600
            publish_noops(2 * size, key="", eta=lambda n: base + n % (6 * 3600))
            return 2 * size

        for label, fill in (("product", product), ("plain Celery", plain)):
            started = time.monotonic()
            stack = bench.fresh(workers=1)
            point = _memory_point(bench, stack, fill)
            point |= {"size": size, "variant": label, "seconds": time.monotonic() - started}
            shown = {k: round(v, 2) for k, v in point.items() if isinstance(v, float)}
            say(f"  {size} open tasks, {label}: {json.dumps(shown)}")
            rows.append(point)
    largest = max(sizes)
    ours = {p["size"]: p for p in rows if p["variant"] == "product"}
    base = {p["size"]: p for p in rows if p["variant"] == "plain Celery"}
    top, idle = ours[largest], ours[min(sizes)]
    bench.add(
        Figure(
            f"memory and restart at {largest} open tasks",
            "; ".join(_memory_line(s, ours[s]) for s in sizes),
            "plain Celery " + "; ".join(_memory_line(s, base[s]) for s in sizes),
            "RSS within 50 MB of idle, stop < 10 s, restart < 5 s",
            top["rss_mb"] - idle["rss_mb"] <= 50 and top["stop_s"] < 10 and top["restart_s"] < 5,
            data={"points": rows},
        )
    )


def _sweep_at(rows: int, due: int) -> dict[str, Any]:
    """`rows` timers (half fired, half pending days ahead) plus `due` due SLA timers of real tasks: EXPLAIN
    ANALYZE of the sweep's selection, as the sweep runs it, and the sweep's own time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from care_events.platform.bus.models import Timer
    from care_events.platform.bus.timers import timers_fire_due

    truncate_product_tables()
    table = Timer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO "{table}" (kind, subject_id, due_at, fired_at, attempts, last_error, created_at)
            SELECT 'CHECKIN_DUE', gen_random_uuid(),
                   now() + (n %% 30 + 1) * interval '1 day' - CASE WHEN n %% 2 = 0 THEN interval '60 days' ELSE
                   interval '0' END,
                   CASE WHEN n %% 2 = 0 THEN now() - interval '1 day' END, CASE WHEN n %% 2 = 0 THEN 1 ELSE 0 END,
                   '', now()
            FROM generate_series(1, %s) AS n""",  # noqa: S608 - the table name is the model's own
            [rows],
        )
        cursor.execute(f'ANALYZE "{table}"')
    tasks = task_rows(due)
    # A supervisor on shift: each fired warning of these unassigned tasks alerts her, as in production.
    from tests.tasks_app.factories import NurseShiftFactory

    NurseShiftFactory(nurse__is_supervisor=True)
    Timer.objects.bulk_create(
        Timer(kind="SLA_WARNING", subject_id=pk, due_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        for pk in tasks
    )
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        fired = timers_fire_due()
        elapsed = time.perf_counter() - started
    selection = next(q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT") and table in q["sql"])
    # The sweep ran it; now the same statement again (the 100 are fired: it selects none, with the same plan).
    Timer.objects.filter(subject_id__in=tasks).update(fired_at=None, attempts=0)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {selection}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    execution = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))  # type: ignore[union-attr]
    return {"rows": rows, "fired": fired, "sweep_s": elapsed, "selection_ms": execution, "plan": plan}


def sweep(bench: Bench, rows: int) -> None:
    say(f"sweep cost with {rows} timer rows and 100 due (in this process, no worker)")
    bench.stop()
    small = _sweep_at(10_000, 100)
    large = _sweep_at(rows, 100)
    say(large["plan"])
    ratio = large["sweep_s"] / small["sweep_s"]
    bench.add(
        Figure(
            f"sweep cost at {rows} rows",
            f"selection {large['selection_ms']:.3f} ms; sweep of {large['fired']} due timers "
            f"{large['sweep_s'] * 1000:.0f} ms ({large['sweep_s'] / max(large['fired'], 1) * 1000:.1f} ms per timer)",
            f"at 10,000 rows: selection {small['selection_ms']:.3f} ms, sweep {small['sweep_s'] * 1000:.0f} ms",
            "selection < 2 ms through a partial index; sweep ≤ 2x its cost at 10,000",
            large["selection_ms"] < 2 and ratio <= 2 and "timer_due_idx" in large["plan"],
            f"ratio {ratio:.2f}",
            {"small": small, "large": large},
        )
    )


def fairness(bench: Bench) -> None:
    count = 200 if bench.quick else 1000
    say(f"fairness: {count} tasks, 10 nurses, two worker processes (concurrency 2 each)")
    from django.db import transaction

    from care_events.platform.bus.models import Event
    from tasks_app.models import EscalationTask

    bench.fresh(workers=2)
    nurses = nurses_on_shift(10)
    for start in range(0, count, 50):
        with transaction.atomic():
            for _ in range(min(50, count - start)):
                escalation()
    wait_for(
        lambda: EscalationTask.objects.filter(status="ASSIGNED").count() == count,
        timeout=900,
        what="every task assigned",
        every=0.5,
    )
    per_nurse = Counter(EscalationTask.objects.values_list("assigned_to_id", flat=True))
    counts = [per_nurse.get(n.pk, 0) for n in nurses]
    assigned = Counter(Event.objects.filter(name="task/assigned").values_list("data__task_id", flat=True))
    twice = sum(1 for n in assigned.values() if n > 1)
    spread = max(counts) - min(counts)
    bench.add(
        Figure(
            "fairness",
            f"per nurse {min(counts)}-{max(counts)} (spread {spread}); {twice} tasks assigned twice",
            "—",
            "spread ≤ 1, none twice",
            spread <= 1 and twice == 0,
        )
    )


# --- the command -------------------------------------------------------------------------------------------------

FIGURES = ["throughput", "cost", "latency", "timers", "memory", "sweep", "fairness"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller numbers: a few minutes instead of half an hour")
    parser.add_argument("--only", default=",".join(FIGURES), help=f"comma-separated, of {', '.join(FIGURES)}")
    parser.add_argument("--sizes", default="", help="open tasks for the memory figure (default 0,10000,100000)")
    parser.add_argument("--sweep-rows", type=int, default=0, help="timer rows for the sweep figure (1000000)")
    parser.add_argument("--sweep-interval", type=int, default=0, help="SWEEP_INTERVAL_SECONDS (30; quick 10)")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(only) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(sorted(unknown))}")
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([0, 2000, 10000] if args.quick else [0, 10_000, 100_000])
    )
    sweep_rows = args.sweep_rows or (100_000 if args.quick else 1_000_000)

    servers = Servers()
    say(f"lab: PostgreSQL 127.0.0.1:{servers.pg_port}, Redis 127.0.0.1:{servers.redis_port}, data in {servers.run_dir}")
    bench = Bench(servers=servers, quick=args.quick, sweep_interval=args.sweep_interval or (10 if args.quick else 30))
    started = time.monotonic()
    load = os.getloadavg()
    try:
        lab_start(servers)
        os.environ["BENCH_RESULTS_URL"] = servers.redis_url(RESULTS_DB)
        for name in only:
            if name == "memory":
                memory(bench, sizes)
            elif name == "sweep":
                sweep(bench, sweep_rows)
            else:
                globals()[name](bench)
    finally:
        bench.stop()
        servers.down()
    say(f"\n{'figure':45} | {'measured':60} | baseline (same run) | target | met")
    for f in bench.figures:
        say(f"{f.name:45} | {f.measured:60} | {f.baseline} | {f.target} | {'yes' if f.met else 'NO'}")
    say(
        f"({time.monotonic() - started:.0f} s; {os.cpu_count()} cores; load average {load[0]:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end; git {git_head()})"
    )
    out = servers.run_dir / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([f.__dict__ for f in bench.figures], indent=2, default=str))
    say(f"JSON: {out}")
    return 0


def git_head() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)  # noqa: S607
    return result.stdout.strip()
