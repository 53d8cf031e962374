"""Memory and restart with many open tasks, beside plain Celery holding the same ETA messages."""

import datetime as dt
import json
import signal
import time
from collections.abc import Callable
from typing import Any

from bench.harness import Bench, Figure, publish_noops, results_redis, schedule_sla_timers, task_rows, wait_for
from bench.lab import process_rss_mb, say, stop_process_group


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


def memory(bench: Bench, sizes: list[int], *, baseline_sizes: list[int]) -> None:
    """The product at each of `sizes` open tasks; plain Celery holding their ETA messages at `baseline_sizes`."""
    bench.begin(f"memory and restart with {', '.join(map(str, sizes))} open tasks (one worker, concurrency 2)")
    rows = []
    for size in sorted(set(sizes) | set(baseline_sizes)):

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

        variants = [("product", product)] if size in sizes else []
        variants += [("plain Celery", plain)] if size in baseline_sizes else []
        for label, fill in variants:
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
            "plain Celery " + "; ".join(_memory_line(s, base[s]) for s in sorted(base)),
            "RSS within 50 MB of idle, stop < 10 s, restart < 5 s",
            top["rss_mb"] - idle["rss_mb"] <= 50 and top["stop_s"] < 10 and top["restart_s"] < 5,
            data={"points": rows},
        )
    )
