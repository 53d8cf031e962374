"""The performance bench: every figure of docs/PERFORMANCE.md beside a baseline measured in the same run.

    .venv/bin/python -m bench [--quick] [--only throughput,cost,latency,timers,memory,sweep,fairness]

It starts its own PostgreSQL and Redis (bench/lab.py: 127.0.0.1:64400 and :63900, data in .run/lab), its own
Celery workers (the product's app plus a no-op task, bench/app.py) and Beat where a figure needs it, and stops all
of them when it ends. Notifications go to the local backend (notifications/backends/local.py): nothing leaves the
machine. Prints one line per figure, with the load average it ran under; the whole table again at the end, and as
JSON in .run/lab/bench.json.

The figures live by concern: bench/pipeline.py (throughput, CPU per escalation, latency, fairness), bench/cost.py
(messages, commits and PostgreSQL CPU per escalation), bench/timers.py (timer lateness, the sweep), bench/memory.py
(memory and restart); bench/cpu.py reads the processes' CPU, bench/harness.py holds what they share.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.cost import cost  # noqa: E402 - the repository root goes on sys.path first
from bench.harness import RESULTS_DB, Bench  # noqa: E402
from bench.lab import Servers, lab_start, say  # noqa: E402
from bench.memory import memory  # noqa: E402
from bench.pipeline import fairness, latency, throughput  # noqa: E402
from bench.timers import sweep, timers  # noqa: E402

# The cost figure first: after another figure's burst, statistics of that work (autovacuum's among them) still
# reach pg_stat_database within the cost figure's window and inflate its commit count.
FIGURES = ["cost", "throughput", "latency", "timers", "memory", "sweep", "fairness"]


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller numbers: a few minutes instead of half an hour")
    parser.add_argument("--only", default=",".join(FIGURES), help=f"comma-separated, of {', '.join(FIGURES)}")
    parser.add_argument("--sizes", default="", help="open tasks for the memory figure (default 0,10000,100000)")
    parser.add_argument(
        "--baseline-sizes",
        default="",
        help="the memory figure's plain-Celery points (default: the same as --sizes); plain Celery holding 200,000 "
        "ETA messages for 100,000 tasks takes longer to load than the rest of the bench",
    )
    parser.add_argument("--sweep-rows", type=int, default=0, help="timer rows for the sweep figure (1000000)")
    parser.add_argument("--sweep-interval", type=int, default=0, help="SWEEP_INTERVAL_SECONDS (30; quick 10)")
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="more environment for the Celery workers, for an A/B run (e.g. DATABASE_CONN_MAX_AGE=0); repeatable",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="the throughput figure's rounds: a no-op burst then an escalation burst, alternated on the same warm "
        "worker; the figure is the median round's (this machine's speed moves by about 15 %% between runs)",
    )
    parser.add_argument(
        "--latency-rates",
        default="1,half",
        help='escalations per second for the latency figure, comma-separated; "half": half the measured throughput',
    )
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(sorted(unknown))}")
    if args.rounds < 1:
        parser.error("--rounds takes a positive number")
    if any("=" not in pair for pair in args.worker_env):
        parser.error("--worker-env takes NAME=VALUE")
    args.worker_env = dict(pair.split("=", 1) for pair in args.worker_env)
    if not args.sizes:
        args.sizes = "0,2000,10000" if args.quick else "0,10000,100000"
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.baseline_sizes = [int(s) for s in args.baseline_sizes.split(",")] if args.baseline_sizes else args.sizes
    args.sweep_rows = args.sweep_rows or (100_000 if args.quick else 1_000_000)
    args.sweep_interval = args.sweep_interval or (10 if args.quick else 30)
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    servers = Servers()
    say(f"lab: PostgreSQL 127.0.0.1:{servers.pg_port}, Redis 127.0.0.1:{servers.redis_port}, data in {servers.run_dir}")
    if args.worker_env:
        say(f"workers' extra environment: {args.worker_env}")
    bench = Bench(
        servers=servers,
        quick=args.quick,
        sweep_interval=args.sweep_interval,
        worker_env=args.worker_env,
        latency_rates=[rate.strip() for rate in args.latency_rates.split(",") if rate.strip()],
        rounds=args.rounds,
    )
    started = time.monotonic()
    load = os.getloadavg()
    try:
        lab_start(servers)
        os.environ["BENCH_RESULTS_URL"] = servers.redis_url(RESULTS_DB)
        for name in args.only:
            if name == "memory":
                memory(bench, args.sizes, baseline_sizes=args.baseline_sizes)
            elif name == "sweep":
                sweep(bench, args.sweep_rows)
            else:
                {"throughput": throughput, "cost": cost, "latency": latency, "timers": timers, "fairness": fairness}[
                    name
                ](bench)
    finally:
        bench.stop()
        servers.down()
    _report(bench, started, load)
    return 0


def _report(bench: Bench, started: float, load: tuple[float, float, float]) -> None:
    say(f"\n{'figure':45} | {'measured':60} | baseline (same run) | target | met | load average")
    for f in bench.figures:
        say(
            f"{f.name:45} | {f.measured:60} | {f.baseline} | {f.target} | {f.verdict} | "
            f"{f.load[0]:.1f} → {f.load[1]:.1f}"
        )
    say(
        f"({time.monotonic() - started:.0f} s; {os.cpu_count()} cores; load average {load[0]:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end; git {_git_head()}"
        + (f"; workers' extra environment {bench.worker_env}" if bench.worker_env else "")
        + ")"
    )
    out = bench.servers.run_dir / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([f.__dict__ for f in bench.figures], indent=2, default=str))
    say(f"JSON: {out}")


def _git_head() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)  # noqa: S607
    return result.stdout.strip()
