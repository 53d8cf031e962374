"""The chaos suite's lab: the product on the lab's servers (bench/lab.py), as one scenario needs it fresh: empty
tables and Redis, two Celery workers and Beat (tests/worker.py's CeleryStack), the fake Twilio, gunicorn serving the
API on a free local port, and the agent's API key.

`isolated`: the product's processes (gunicorn, workers, Beat) run in a network namespace of their own
(tests/netns.py), reaching PostgreSQL, Redis and the fake Twilio through proxies, so that a scenario can black-hole
PostgreSQL for them alone (`pg_port`: the port to drop); the stream's client joins the namespace to reach the API."""

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.lab import ROOT, Servers, stop_process_group

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CHECKIN_DELAY = 3
RESPONSE_WINDOW = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Lab:
    def __init__(self, servers: Servers) -> None:
        self.servers = servers
        self.stack: Any = None
        self.web: subprocess.Popen | None = None
        self.port = free_port()
        self.token = ""
        self.extra_beat: subprocess.Popen | None = None
        self.netns: Any = None  # tests.netns.Netns while isolated
        self.pg_port = servers.pg_port

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def overrides(self) -> dict[str, str]:
        return {
            "CHECKIN_DELAY": str(CHECKIN_DELAY),
            "CHECKIN_RESPONSE_WINDOW": str(RESPONSE_WINDOW),
            "SWEEP_INTERVAL_SECONDS": "2",
            "RELAY_GRACE_SECONDS": "3",
            "API_RATE_LIMIT": "100000/minute",
            "CHAOS_POISON": "1",
            "LOG_LEVEL": "WARNING",
        }

    def start(self, *, isolated: bool = False) -> None:
        """A fresh scenario: empty tables and Redis, new workers, Beat, fake Twilio, and the web server."""
        from tests.worker import CeleryStack

        self.stop_workers()
        if self.netns is not None or isolated:
            self.stop_web()  # it runs where the previous scenario ran it
            self._leave_namespace()
        self.servers.redis_flushall()
        broker_reconnect()
        truncate_product_tables()
        overrides, prefix = self.overrides(), []
        if isolated:
            overrides, prefix = self._enter_namespace(overrides)
        self.stack = CeleryStack(overrides=overrides, app="bench.app", prefix=prefix)
        if isolated:
            twilio = self.netns.forward(("127.0.0.1", int(self.stack.twilio.url.rsplit(":", 1)[1])))
            self.stack.env["TWILIO_API_BASE_URL"] = f"http://127.0.0.1:{twilio.port}"
        self.stack.start_workers(count=2, concurrency=2)
        self.stack.start_beat()
        if self.web is None or self.web.poll() is not None:
            self.start_web()
        self.token = agent_token()

    def _enter_namespace(self, overrides: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        from tests.netns import Netns

        self.netns = Netns()
        pg = self.netns.forward(("127.0.0.1", self.servers.pg_port))
        redis = self.netns.forward(("127.0.0.1", self.servers.redis_port))
        self.pg_port = pg.port
        from bench.lab import DB_NAME

        broker, cache = f"redis://127.0.0.1:{redis.port}/0", f"redis://127.0.0.1:{redis.port}/1"
        urls = {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pg.port}/{DB_NAME}",
            **dict.fromkeys(("REDIS_URL", "CELERY_BROKER_URL", "TEST_CELERY_BROKER_URL"), broker),
            **dict.fromkeys(("CACHE_URL", "TEST_CACHE_URL"), cache),
        }
        return {**overrides, **urls}, self.netns.command()

    def _leave_namespace(self) -> None:
        if self.netns is not None:
            self.netns.close()
            self.netns, self.pg_port = None, self.servers.pg_port

    def start_web(self) -> None:
        log = open(self.stack.tmp / "gunicorn.log", "ab")  # noqa: SIM115 - kept open for the process's lifetime
        self.web = subprocess.Popen(  # noqa: S603 - our own gunicorn and fixed arguments
            [
                *self.stack.prefix,
                *[GUNICORN, "config.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", "2", "--timeout", "30"],
            ],
            cwd=ROOT,
            env=self.stack.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        answered: list[bool] = []

        def wait() -> None:
            import requests

            if self.netns is not None:
                self.netns.enter()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                        answered.append(True)
                        return
                except requests.RequestException:
                    pass
                time.sleep(0.2)

        # In a thread of its own: one that joins the namespace stays in it.
        waiting = threading.Thread(target=wait)
        waiting.start()
        waiting.join()
        if not answered:
            raise RuntimeError("gunicorn did not answer within 60 s")

    def stop_workers(self) -> None:
        if self.stack is not None:
            self.stack.stop()
            self.stack = None

    def stop_web(self) -> None:
        if self.web is not None:
            stop_process_group(self.web, timeout=20)
            self.web = None

    def stop(self) -> None:
        self.stop_workers()
        self.stop_web()
        self._leave_namespace()


def broker_reconnect() -> None:
    """After Redis went away, this process's pooled broker connections are dead ones: drop them all."""
    from kombu import pools

    from config.celery_app import app

    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    pools.reset()


def truncate_product_tables() -> None:
    from bench.lab import truncate_product_tables as truncate

    truncate()


def agent_token() -> str:
    from care_events.platform.api_clients.tokens import api_token_create, service_account_ensure

    return api_token_create(user=service_account_ensure(username="chaos-agent"), scope="agent")
