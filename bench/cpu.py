"""CPU time of every process an escalation or a no-op runs through, read from /proc (psutil's cpu_times reads
/proc/<pid>/stat: utime, stime, and cutime and cstime, the time of children the process has reaped).

Four groups: the Celery workers' main processes and their pool processes (the backstop worker included), the lab's
PostgreSQL (the postmaster and every child: client backends, WAL writer, checkpointer, autovacuum) and the lab's
Redis. A process tree's total counts a child that exited during the window through its parent's cutime, so the
total only grows: a backend that closed its connection is not lost. The bench's own PostgreSQL backend is left out:
it makes the escalations (the work a web request does before the pipeline starts) and polls for their outcome.

Figures are per-unit CPU seconds with the processes' idle rate (measured just before, over a few seconds) taken
off; CPU time does not depend on how busy the rest of the machine is, so a figure in no-op units holds on a shared
machine where the rates do not.
"""

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GROUPS = ("main", "pool", "postgres", "redis")


def _tree_seconds(pid: int) -> float:
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = process.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def _own_seconds(pid: int, *, children: bool = False) -> float:
    """A process's own CPU time, or (children=True) that of the children it has reaped."""
    import psutil

    with contextlib.suppress(psutil.NoSuchProcess):
        t = psutil.Process(pid).cpu_times()
        return t.children_user + t.children_system if children else t.user + t.system
    return 0.0


def _pid_file(path: Path) -> int:
    return int(path.read_text().split()[0])


def _bench_backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


@dataclass
class Cpu:
    """CPU seconds by group."""

    main: float = 0.0
    pool: float = 0.0
    postgres: float = 0.0
    redis: float = 0.0

    @property
    def worker(self) -> float:
        return self.main + self.pool

    @property
    def total(self) -> float:
        return self.worker + self.postgres + self.redis

    def __sub__(self, other: "Cpu") -> "Cpu":
        return Cpu(*(getattr(self, g) - getattr(other, g) for g in GROUPS))

    def __mul__(self, factor: float) -> "Cpu":
        return Cpu(*(getattr(self, g) * factor for g in GROUPS))

    def as_dict(self) -> dict[str, float]:
        return {**{g: getattr(self, g) for g in GROUPS}, "worker": self.worker, "total": self.total}

    def line(self) -> str:
        """In milliseconds: total (worker: main process and pool; PostgreSQL; Redis)."""
        return (
            f"{self.total * 1000:.1f} ms (worker {self.worker * 1000:.1f}: main {self.main * 1000:.1f}, pool "
            f"{self.pool * 1000:.1f}; PostgreSQL {self.postgres * 1000:.1f}; Redis {self.redis * 1000:.1f})"
        )


class CpuMeter:
    """Samples the lab's processes: the stack's workers (as they are when sampled), PostgreSQL and Redis."""

    def __init__(self, servers: Any, stack: Any) -> None:
        self.stack = stack
        self.postmaster = _pid_file(servers.run_dir / "postgres" / "data" / "postmaster.pid")
        self.redis = _pid_file(servers.run_dir / "redis" / "redis.pid")
        self.idle = Cpu()  # CPU seconds per second with nothing to do, once measured
        # Asked once: a query at every sample would be a transaction of the bench's inside what it measures.
        self.bench_backend = _bench_backend_pid()

    def sample(self) -> Cpu:
        workers = [process.pid for process in self.stack.workers]
        main = sum(_own_seconds(pid) for pid in workers)
        return Cpu(
            main=main,
            pool=sum(_tree_seconds(pid) for pid in workers) - main,
            postgres=_tree_seconds(self.postmaster) - _own_seconds(self.bench_backend),
            redis=_tree_seconds(self.redis),
        )

    def measure_idle(self, seconds: float = 4.0, times: int = 3) -> Cpu:
        """The processes' CPU per second while nothing is published (the workers' and Redis's polling), to be
        taken off the figures: the least of `times` windows in each group, since the steady polling is in every
        window and sporadic work (an autovacuum run after the figure's writes) only in some."""
        windows = []
        for _ in range(times):
            before, started = self.sample(), time.monotonic()
            time.sleep(seconds)
            windows.append((self.sample() - before) * (1 / (time.monotonic() - started)))
        self.idle = Cpu(*(min(getattr(w, g) for w in windows) for g in GROUPS))
        return self.idle

    def start(self) -> tuple[Cpu, float]:
        return self.sample(), time.monotonic()

    def per_unit(self, started: tuple[Cpu, float], units: int) -> Cpu:
        """CPU per unit of work since `started`, less the idle rate over the same time."""
        before, at = started
        spent = self.sample() - before - self.idle * (time.monotonic() - at)
        return spent * (1 / units)
