"""The escalation pipeline under load: throughput and CPU per escalation beside a no-op task, latency at 1/s and at
half the throughput, and fairness between nurses."""

import statistics
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.cpu import CpuMeter
from bench.harness import (
    Bench,
    Figure,
    creation_to_sent,
    escalation,
    ms,
    nurses_on_shift,
    publish_noops,
    results_redis,
    sent_count,
    wait_for,
)
from bench.lab import percentile


def throughput(bench: Bench) -> None:
    bench.begin("pipeline throughput and CPU per escalation (one worker, concurrency 2)")
    n_noop, n_esc = (500, 100) if bench.quick else (3000, 400)
    stack = bench.fresh(workers=1)
    nurses_on_shift(10)
    r = results_redis()
    publish_noops(50, key="warm")  # the pool's first tasks pay for imports and connections
    wait_for(lambda: int(r.get("warm") or 0) == 50, timeout=60, what="warm-up no-ops")
    escalation()  # the first assignment pays for imports and connections too
    wait_for(lambda: sent_count() == 1, timeout=60, what="the warm-up escalation")
    meter = CpuMeter(bench.servers, stack)
    meter.measure_idle()
    rounds = [_throughput_round(meter, n_noop, n_esc, key=f"tp{index}") for index in range(bench.rounds)]
    # The median round by ratio, and the median by CPU: each figure is its own median, with the rounds' range.
    by_ratio = sorted(rounds, key=lambda r: r.ratio)[len(rounds) // 2]
    by_units = sorted(rounds, key=lambda r: r.units)[len(rounds) // 2]
    spread = len(rounds) > 1
    ratios = f", rounds {min(r.ratio for r in rounds):.3f}-{max(r.ratio for r in rounds):.3f}" if spread else ""
    units = f", rounds {min(r.units for r in rounds):.1f}-{max(r.units for r in rounds):.1f}" if spread else ""
    median = f"median of {len(rounds)} rounds: " if spread else ""
    bench.throughput = by_ratio.rate
    bench.add(
        Figure(
            "pipeline throughput",
            f"{median}{by_ratio.rate:.1f} escalations/s ({n_esc} created in one transaction → all TASK_ASSIGNED sent)",
            f"{by_ratio.noop_rate:.0f} no-op tasks/s ({n_noop})",
            "≥ 0.25 of the no-op rate",
            by_ratio.ratio >= 0.25,
            f"ratio {by_ratio.ratio:.3f}{ratios}",
            {
                "escalations_per_s": by_ratio.rate,
                "noop_per_s": by_ratio.noop_rate,
                "ratio": by_ratio.ratio,
                "rounds": [r.ratio for r in rounds],
            },
        )
    )
    bench.add(
        Figure(
            "CPU per escalation",
            f"{median}{by_units.units:.1f} no-ops{units}: {by_units.esc_cpu.line()} per escalation",
            f"no-op {by_units.noop_cpu.line()}; idle {meter.idle.line()} per second, taken off",
            "≤ 5 no-ops",
            by_units.units <= 5,
            data={
                "no_op_units": by_units.units,
                "escalation": by_units.esc_cpu.as_dict(),
                "noop": by_units.noop_cpu.as_dict(),
                "rounds": [r.units for r in rounds],
            },
        )
    )


@dataclass
class _Round:
    rate: float
    noop_rate: float
    esc_cpu: Any
    noop_cpu: Any

    @property
    def ratio(self) -> float:
        return self.rate / self.noop_rate

    @property
    def units(self) -> float:
        return float(self.esc_cpu.total / self.noop_cpu.total)


def _throughput_round(meter: CpuMeter, n_noop: int, n_esc: int, *, key: str) -> _Round:
    """One no-op burst, then one escalation burst, on the warm worker: each one's rate and CPU per unit."""
    from django.db import transaction

    r = results_redis()
    window = meter.start()
    started = time.monotonic()
    publish_noops(n_noop, key=key)
    done = wait_for(lambda: int(r.get(key) or 0) >= n_noop, timeout=600, what="no-op tasks", every=0.01)
    noop_rate = n_noop / (done - started)
    noop_cpu = meter.per_unit(window, n_noop)

    sent_before = sent_count()
    window = meter.start()
    with transaction.atomic():
        for _ in range(n_esc):
            escalation()
    # From the commit, when the work exists for the workers (as the no-ops' from their first publish): the bench
    # making the rows (patients, episodes, tasks through the factories) is not the pipeline's time.
    started = time.monotonic()
    done = wait_for(lambda: sent_count() == sent_before + n_esc, timeout=900, what="escalations sent", every=0.05)
    return _Round(n_esc / (done - started), noop_rate, meter.per_unit(window, n_esc), noop_cpu)


def latency(bench: Bench) -> None:
    """At each of bench.latency_rates (escalations per second, or "half": half the measured throughput)."""
    seconds = 30 if bench.quick else 60
    for rate in bench.latency_rates:
        if rate == "half":
            if not bench.throughput:
                throughput(bench)
            _latency_at(bench, bench.throughput / 2, seconds)
        else:
            _latency_at(bench, float(rate), seconds)


def _latency_at(bench: Bench, rate: float, seconds: int) -> None:
    count = max(1, round(rate * seconds))
    bench.begin(f"latency at a steady {rate:.2f}/s for {seconds} s (one worker, concurrency 2)")
    bench.fresh(workers=1)
    nurses_on_shift(10)
    r = results_redis()
    publish_noops(20, key="warm")
    wait_for(lambda: int(r.get("warm") or 0) == 20, timeout=60, what="warm-up no-ops")
    publish_noops(count, key="lat", rate=rate)
    wait_for(lambda: r.llen("lat") == count, timeout=300, what="no-op latencies")
    noop = [float(v) for v in r.lrange("lat", 0, -1)]

    escalation()
    wait_for(lambda: sent_count() == 1, timeout=60, what="the warm-up escalation")
    from notifications.models import NotificationLog

    NotificationLog.objects.all().update(sent_at=None)  # the warm-up is not measured
    start = time.monotonic()
    for n in range(count):
        pause = start + n / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        escalation()
    wait_for(lambda: sent_count() == count, timeout=900, what="escalations sent", every=0.5)
    values = creation_to_sent()
    p50, p99, worst = statistics.median(values), percentile(values, 99), max(values)
    n50, n99 = statistics.median(noop), percentile(noop, 99)
    # The target is at 1/s (issue 17). Faster, the bench process making the escalations (a patient, an episode and
    # a task each, through the factories) takes its share of the same two cores: shown, not judged.
    targeted = rate <= 1
    bench.add(
        Figure(
            f"latency creation → SENT at {rate:.2f}/s",
            f"p50 {ms(p50)}, p99 {ms(p99)}, max {ms(worst)} ({len(values)} at {rate:.2f}/s for {seconds} s)",
            f"no-op publish → start p50 {ms(n50)}, p99 {ms(n99)}, max {ms(max(noop))}",
            "p99 ≤ 10x the no-op p99" if targeted else "— (the target is at 1/s)",
            p99 <= 10 * n99 if targeted else None,
            f"{p99 / n99:.0f}x the no-op p99",
            {"rate": rate, "p50": p50, "p99": p99, "max": worst, "noop_p50": n50, "noop_p99": n99},
        )
    )


def fairness(bench: Bench) -> None:
    count = 200 if bench.quick else 1000
    bench.begin(f"fairness: {count} tasks, 10 nurses, two worker processes (concurrency 2 each)")
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
