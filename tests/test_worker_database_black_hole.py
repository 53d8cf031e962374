"""PostgreSQL out of reach without refusing (a partition, a firewall's DROP): real gunicorn, inside a network
namespace (tests/netns.py) where every packet to and from the database is dropped silently for a while. Every API
request must be answered, 503 `service_unavailable` with Retry-After within 5 s (the connect, TCP user and keepalive
timeouts of config/settings/environment.py's `database`), never a hang or a killed gunicorn worker; and the agent's
POSTs, retried with their Idempotency-Key after recovery, apply once each.

BLACK_HOLE_SECONDS sets how long the database is out of reach (the chaos suite's `postgres_black_hole` holds it for
45 s; 15 s here shows the same: after the first request every later one meets the same timeouts)."""

import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection

from care_events.models import InteractionResponse
from care_events.platform.api_clients.tokens import api_token_create, service_account_ensure
from tests.care_events.factories import AgentInteractionFactory
from tests.netns import Netns, unavailable
from tests.worker import ROOT, wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(unavailable() is not None, reason=f"no network namespace here: {unavailable()}"),
]

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
HOLD = float(os.environ.get("BLACK_HOLE_SECONDS", "15"))
# As many clients as gunicorn has workers: each request's own wait is what the timeouts bound; more clients than
# workers add queueing in front of them (each worker answers one request every connect timeout while the database is
# out of reach: docs/operations.md).
CLIENTS = 2
ANSWER_WITHIN = 5.0
BODY = {"text": "My ankles are more swollen today.", "severity": "HIGH"}


@dataclass
class Answer:
    interaction: str
    key: str
    status: int | None  # None: no HTTP answer at all (a reset, a timeout)
    seconds: float
    code: str = ""
    retry_after: str | None = None


def _via(url: str, port: int) -> str:
    """`url` (a Redis URL) pointed at the proxy on `port` inside the namespace."""
    return urlsplit(url)._replace(netloc=f"127.0.0.1:{port}").geturl()


@pytest.fixture
def web_in_namespace(tmp_path):
    """gunicorn (2 workers, 30 s timeout, as production) in a namespace that reaches PostgreSQL and Redis through
    proxies; yields (namespace, the PostgreSQL proxy's port, the API's base URL inside the namespace)."""
    net = Netns()
    db = connection.settings_dict
    pg = net.forward((db["HOST"], int(db["PORT"])))
    broker = urlsplit(settings.CELERY_BROKER_URL)
    redis = net.forward((broker.hostname or "127.0.0.1", broker.port or 6379))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{pg.port}/{db['NAME']}",
        "TEST_CELERY_BROKER_URL": _via(settings.CELERY_BROKER_URL, redis.port),
        "TEST_CACHE_URL": _via(settings.CACHES["default"]["LOCATION"], redis.port),
        "API_RATE_LIMIT": "100000/minute",
    }
    log = open(tmp_path / "gunicorn.log", "ab")  # noqa: SIM115 - closed below
    web = subprocess.Popen(  # noqa: S603 - our own gunicorn and fixed arguments
        net.command(GUNICORN, "config.wsgi", "--bind", "127.0.0.1:8000", "--workers", "2", "--timeout", "30"),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        yield net, pg.port, "http://127.0.0.1:8000"
    finally:
        web.terminate()
        web.wait(timeout=30)
        log.close()
        net.close()
    # No gunicorn worker was killed for its timeout: a request that hung past 30 s would have been.
    assert b"WORKER TIMEOUT" not in (tmp_path / "gunicorn.log").read_bytes()


def test_a_black_holed_database_answers_503_within_seconds_and_retried_posts_apply_once(web_in_namespace):
    import requests

    net, pg_port, base = web_in_namespace
    token = api_token_create(user=service_account_ensure(username="black-hole-agent"), scope="agent")
    interactions = [str(AgentInteractionFactory().pk) for _ in range(400)]
    local = threading.local()
    pool = ThreadPoolExecutor(max_workers=CLIENTS, initializer=net.enter)  # the clients' sockets are made inside

    def post(interaction: str, key: str) -> Answer:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Token {token}"
        started = time.monotonic()
        try:
            answer = local.session.post(
                f"{base}/api/v1/interactions/{interaction}/responses/",
                json=BODY,
                headers={"Idempotency-Key": key},
                timeout=60,
            )
        except requests.RequestException:
            return Answer(interaction, key, None, time.monotonic() - started)
        code = answer.json().get("error", {}).get("code", "") if answer.status_code >= 400 else ""
        return Answer(
            interaction, key, answer.status_code, time.monotonic() - started, code, answer.headers.get("Retry-After")
        )

    def keys() -> tuple[str, str]:
        return interactions.pop(), str(uuid.uuid4())

    first = keys()
    wait_until(lambda: pool.submit(post, *first).result().status == 201, timeout=60, what="gunicorn to accept a POST")

    net.black_hole(pg_port)
    hole_started = time.monotonic()

    def client() -> list[Answer]:
        answers = []
        while time.monotonic() - hole_started < HOLD:
            answers.append(post(*keys()))
        return answers

    during = [answer for answers in pool.map(lambda _: client(), range(CLIENTS)) for answer in answers]
    net.restore()

    assert during, "no request was made while the database was out of reach"
    assert [a for a in during if a.status is None] == [], "a request got no HTTP answer"
    slow = sorted(a.seconds for a in during)[-3:]
    assert max(a.seconds for a in during) < ANSWER_WITHIN, f"the slowest answers took {slow} s"
    assert {(a.status, a.code) for a in during} == {(503, "service_unavailable")}
    assert all(a.retry_after for a in during)

    # After recovery the client retries every refused POST with its key: each applies once.
    def retry(answer: Answer) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            again = post(answer.interaction, answer.key)
            if again.status == 201:
                return 201
            time.sleep(0.5)
        return again.status or 0

    assert set(pool.map(retry, during)) == {201}
    # And once more, each POST replayed: the same answer, nothing new.
    assert set(pool.map(lambda a: post(a.interaction, a.key).status, during)) == {201}
    pool.shutdown()
    responses = InteractionResponse.objects.filter(interaction_id__in=[a.interaction for a in during])
    assert responses.count() == len(during)
    assert responses.values("interaction_id").distinct().count() == len(during)
    latencies = sorted(round(a.seconds, 2) for a in during)
    print(f"\n{len(during)} requests in {HOLD:.0f} s of black hole, answer times {latencies} s")
