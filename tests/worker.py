"""A real Celery stack for tests: worker processes, the backstop worker and Beat against the test database and the
test broker's Redis database (TEST_CELERY_BROKER_URL).

Only Twilio is replaced, by tests/notifications/fake_twilio.py at its HTTP boundary: the workers send SMS through
the real twilio SDK to that local server. Timers are short (CHECKIN_DELAY 3 s, response window 6 s, a CRITICAL
task's acknowledgement chased after 9 s and 18 s) and the
backstops fast (sweep every second, relay after 2 s) so the durability tests finish in seconds; the timers' horizon
is 4 s, so an SLA stage or a check-in due later than that is published by the horizon job, as in production.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from tests.notifications.fake_twilio import FakeTwilio

ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).with_name("celery"))

WORKER_SETTINGS = {
    "CHECKIN_DELAY": "3",
    "CHECKIN_RESPONSE_WINDOW": "6",
    "QUIET_HOURS_START": "0",  # equal start and end: no quiet hours, so the tests do not depend on the hour
    "QUIET_HOURS_END": "0",
    "SWEEP_INTERVAL_SECONDS": "1",
    "TIMER_HORIZON_SECONDS": "4",
    "RELAY_GRACE_SECONDS": "2",
    "NOTIFICATION_SEND_LEASE_SECONDS": "15",  # 3 x the fake Twilio's 5 s timeout (settings_overrides)
    "NOTIFICATION_SMS_BACKEND": "twilio",
    # Only CRITICAL tasks are chased for their acknowledgement, after 9 s and 9 s more (docs/handover.md): the other
    # worker tests' tasks (HIGH and below) get no reminder they would have to count.
    "ACK_REMIND_AFTER_MINUTES": "CRITICAL=0.15",
    "ACK_ESCALATE_AFTER_MINUTES": "CRITICAL=0.15",
}


def wait_until(condition: Callable[[], object], *, timeout: float = 30, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class CeleryStack:
    """`overrides`: more environment for every process (bench/ and chaos/ set their own timings and backends);
    `app`: the Celery app module to run (bench/ and chaos/ add their own tasks to the product's app); `prefix`: a
    command every process runs under (chaos/: nsenter, for a network namespace of its own)."""

    def __init__(
        self,
        *,
        overrides: dict[str, str] | None = None,
        app: str = "config.celery_app",
        prefix: list[str] | None = None,
    ) -> None:
        self.twilio = FakeTwilio().start()
        self.app = app
        self.prefix = prefix or []
        self._started = 0
        self.tmp = Path(tempfile.mkdtemp(prefix="sequora-celery-"))
        self.broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "TEST_CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            **WORKER_SETTINGS,
            **self.twilio.settings_overrides(),
            **(overrides or {}),
        }
        self.workers: list[subprocess.Popen] = []
        self.beat: subprocess.Popen | None = None

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the process's lifetime
        return subprocess.Popen(  # noqa: S603 - our own celery binary and fixed arguments
            [*self.prefix, CELERY, "-A", self.app, *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )

    def start_workers(self, count: int = 2, concurrency: int = 2, *, backstop: bool = True) -> None:
        """`count` workers on the urgent and default queues, and the delivery and backstop queues' own workers (as
        production runs them: scripts/run.sh) unless `backstop` is False (they run already)."""
        first, self._started = self._started, self._started + count
        queues = [("urgent,default", concurrency, f"w{n}", "prefork") for n in range(first, first + count)]
        if backstop:
            # No worker on Web Push's queue here: these stacks send PUSH through the local backend, in process.
            # tests/test_worker_push_limits.py runs a push worker of its own, as production does.
            queues.append(("delivery", 8, f"delivery{first}", "threads"))
            queues.append(("backstop", 1, f"backstop{first}", "prefork"))
        for queue, processes, name, pool in queues:
            self.workers.append(
                self._spawn(
                    name,
                    "worker",
                    "-Q",
                    queue,
                    "-P",
                    pool,
                    "--concurrency",
                    str(processes),
                    "--hostname",
                    f"{name}-{os.getpid()}@%h",
                    "--loglevel",
                    "INFO",
                    "--without-mingle",
                    "--without-gossip",
                )
            )
        from config.celery_app import app

        wait_until(
            lambda: len(app.control.ping(timeout=0.5) or []) >= len(queues), timeout=60, what="workers to answer"
        )

    def start_beat(self, name: str = "beat") -> subprocess.Popen:
        """Beat, once it is scheduling: the backstop worker has run a sweep since (its heartbeat is fresh)."""
        from care_events.platform.bus.health import SWEEP_HEARTBEAT_KEY, sweep_heartbeat_age

        cache.delete(SWEEP_HEARTBEAT_KEY)
        self.beat = self._spawn(name, "beat", "--schedule", str(self.tmp / f"{name}-schedule"), "--loglevel", "INFO")
        wait_until(lambda: sweep_heartbeat_age() is not None, timeout=60, what="Beat's first sweep")
        return self.beat

    def kill_workers(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: nothing is acked, nothing is cleaned up."""
        for process in self.workers:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        self.workers = []

    def stop_workers(self) -> None:
        """SIGTERM, Celery's warm shutdown: the tasks in hand finish first. Beat keeps running."""
        for process in self.workers:
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.workers = []

    def stop(self) -> None:
        for process in [*self.workers, *([self.beat] if self.beat else [])]:
            os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers, *([self.beat] if self.beat else [])]:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.workers, self.beat = [], None
        self.twilio.stop()

    def flush_redis(self) -> None:
        """Redis loses everything it holds for us: queues, unacked and ETA messages, Beat's last-run marks.
        FLUSHDB of the test broker's database, not FLUSHALL: that would also wipe a developer's running demo."""
        self.broker.flushdb()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in sorted(self.tmp.glob("*.log")))
