"""What one escalation costs the broker and PostgreSQL, escalations made one after another: Celery messages and
Redis commands (Redis MONITOR), committed transactions (pg_stat_database) and PostgreSQL's CPU (/proc)."""

import re
import threading
import time
from collections import Counter

from bench.cpu import CpuMeter
from bench.harness import Bench, Figure, escalation, nurses_on_shift, sent_count, wait_for
from bench.lab import DB_NAME, Servers


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

    with psycopg.connect(servers.admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, pg_snapshot_xmax(pg_current_snapshot())::text::bigint FROM pg_stat_database "
            "WHERE datname = %s",
            [DB_NAME],
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def maintenance_runs() -> int:
    """Autovacuum's and autoanalyze's runs so far on the lab database's tables (each a transaction of the database's
    own, which pg_stat_database.xact_commit counts), read on the bench's own connection: one transaction of it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_all_tables")
        return int(cursor.fetchone()[0])


def cost(bench: Bench) -> None:
    count = 30
    bench.begin(f"Celery messages, Redis commands, PostgreSQL commits and CPU per escalation ({count} one after "
                "another; one worker, no Beat)")  # fmt: skip
    stack = bench.fresh(workers=1)
    nurses_on_shift(10)
    # Warm-up: escalations at once, so that each pool process has its database connection (and the connection's
    # set-up queries, three transactions, are not counted as an escalation's).
    warm_up = 4
    for _ in range(warm_up):
        escalation()
    wait_for(lambda: sent_count() == warm_up, timeout=60, what="the warm-up escalations")
    time.sleep(12)  # PostgreSQL flushes an idle backend's statistics within 10 s
    meter = CpuMeter(bench.servers, stack)
    meter.measure_idle()
    monitor = Monitor(bench.servers.redis_url()).start()
    time.sleep(1)
    idle_start = time.time()
    time.sleep(5)
    idle_end = time.time()
    # The database's own background commits (the idle workers' and autovacuum's), per second, taken off below as
    # the idle Redis commands are: what is left is the escalations'.
    idle_commits_start, idle_commits_at = pg_commits(bench.servers)[0], time.time()
    time.sleep(12)
    commits_before = pg_commits(bench.servers)
    commits_at = time.time()
    idle_commit_rate = (commits_before[0] - idle_commits_start) / (commits_at - idle_commits_at)
    maintenance_before = maintenance_runs()
    window_start = time.time()
    window = meter.start()
    for _ in range(count):
        escalation()
    # Each poll is one autocommit transaction of this process: counted, and taken off the total (as is the
    # maintenance_runs() read above).
    polls = 1
    while True:
        polls += 1
        if sent_count() == count + warm_up:
            break
        time.sleep(0.5)
    time.sleep(2)  # the delivery's last writes after sent_at (the local backend's "delivered")
    window_end = time.time()
    cpu = meter.per_unit(window, count)
    time.sleep(12)
    commits_after, xids_after = pg_commits(bench.servers)
    background = idle_commit_rate * (time.time() - commits_at)
    maintenance = maintenance_runs() - maintenance_before  # after the count: not in it
    commits, xids = commits_after - commits_before[0] - polls - background, xids_after - commits_before[1]
    monitor.stop()
    idle = len(monitor.between(idle_start, idle_end)) / (idle_end - idle_start)
    commands = monitor.between(window_start, window_end)
    verbs = Counter(command.split(" ", 1)[0].upper() for command in commands)
    messages = [c for c in commands if re.match(r"LPUSH (default|urgent|delivery|backstop) ", c)]
    names = Counter(message_name(c) for c in messages)
    total = (len(commands) - idle * (window_end - window_start)) / count
    per = {
        "messages": len(messages) / count,
        "publish": verbs["PUBLISH"] / count,
        "redis_commands": total,
        "commits": commits / count,
        "maintenance_per_escalation": maintenance / count,
        "background_commits_per_second": idle_commit_rate,
        "write_xids": xids / count,
        "postgres_cpu_ms": cpu.postgres * 1000,
        "worker_cpu_ms": cpu.worker * 1000,
        "message_names": {name: n / count for name, n in names.items()},
    }
    bench.add(
        Figure(
            "Celery messages per escalation",
            f"{per['messages']:.1f} messages ({', '.join(f'{k} {v:g}' for k, v in sorted(names.items()))} "
            f"over {count}); {per['publish']:.1f} PUBLISH (task events, heartbeats); ≈{total:.0f} Redis commands",
            "—",
            "1 message",
            per["messages"] <= 1,
            data=per,
        )
    )
    bench.add(
        Figure(
            "PostgreSQL commits per escalation",
            f"{per['commits']:.1f} commits (pg_stat_database.xact_commit: every transaction, read-only ones and "
            f"the creating one included, less the idle database's {idle_commit_rate:.2f}/s measured first), of "
            f"which {maintenance / count:.1f} autovacuum and autoanalyze runs the writes set off "
            f"(pg_stat_all_tables: the catalogs too): {(commits - maintenance) / count:.1f} the escalation's own; "
            f"{per['write_xids']:.1f} transaction ids assigned (transactions and savepoints that wrote)",
            "—",
            "≤ 3 commits",
            per["commits"] <= 3,
        )
    )
    bench.add(
        Figure(
            "PostgreSQL CPU per escalation",
            f"{per['postgres_cpu_ms']:.1f} ms (every PostgreSQL process but the bench's own backend; the worker "
            f"{per['worker_cpu_ms']:.1f} ms; Redis's is inflated by MONITOR here, see CPU per escalation)",
            "—",
            "—",
            None,
        )
    )
