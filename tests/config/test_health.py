"""/healthz and /readyz: django-health-check's database and broker checks, and the bus's own
(care_events/platform/bus/health.py)."""

import datetime as dt
import socket
import uuid

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from care_events.platform.bus.health import SWEEP_HEARTBEAT_KEY
from care_events.platform.bus.models import Event, HandlerRun, Timer, TimerKind
from care_events.platform.bus.tasks import timers_sweep_task

pytestmark = pytest.mark.django_db

BUS_CHECKS = {"TimerSweep()", "UndispatchedRuns()", "LateTimers()", "FailedWork()"}


@pytest.fixture(autouse=True)
def private_cache(settings):
    """The sweep's heartbeat in this process's own cache: other test runs share the test Redis, and clear it or
    sweep too (the code under test only sees Django's cache API)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ops"}}


@pytest.fixture
def swept():
    """Beat's timer sweep has just run: the heartbeat /readyz reads is fresh."""
    timers_sweep_task()
    yield
    cache.delete(SWEEP_HEARTBEAT_KEY)


def failing(response) -> dict[str, str]:
    return {check: why for check, why in response.json()["checks"].items() if why != "OK"}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def handler_run(**fields) -> HandlerRun:
    event = Event.objects.create(name="task/created", data={"task_id": str(uuid.uuid4())})
    return HandlerRun.objects.create(event=event, handler="assign-task", queue="urgent", **fields)


def test_healthz_answers_200_without_checking_any_dependency(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "checks": {}, "info": {}}


def test_readyz_is_200_when_all_is_well(client, swept):
    response = client.get("/readyz", HTTP_ACCEPT="text/html")  # JSON whatever the caller accepts
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"].values()) == {"OK"}
    assert set(body["checks"]) >= BUS_CHECKS
    assert any(check.startswith("Database(") for check in body["checks"])
    assert any(check.startswith("Redis(") for check in body["checks"])
    assert body["info"] == {
        "timer_sweep_age_seconds": 0,
        "oldest_undispatched_run_seconds": None,
        "oldest_late_timer_seconds": None,
        "failed_handler_runs": 0,
        "failed_timers": 0,
    }


def test_readyz_still_passes_just_before_two_sweep_intervals(client, swept, settings):
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=2 * settings.SWEEP_INTERVAL_SECONDS - 5)):
        response = client.get("/readyz")
    assert response.status_code == 200, response.json()


def test_readyz_is_503_naming_the_sweep_when_it_is_older_than_two_intervals(client, swept, settings):
    assert settings.SWEEP_INTERVAL_SECONDS == 30
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=65)):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    [(check, why)] = failing(response).items()
    assert check == "TimerSweep()"
    assert why.startswith("Unavailable: the timer sweep last ran 65 s ago (stale after 60 s)")
    assert response.json()["info"]["timer_sweep_age_seconds"] == 65


def test_readyz_is_503_when_the_sweep_never_ran(client):
    cache.delete(SWEEP_HEARTBEAT_KEY)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert failing(response) == {"TimerSweep()": "Unavailable: the timer sweep has not run: is Celery Beat running?"}


def test_readyz_is_503_naming_the_runs_check_with_an_old_undispatched_pending_run(client, swept):
    handler_run(next_attempt_at=timezone.now() - dt.timedelta(seconds=400), enqueued_at=None)
    response = client.get("/readyz")
    assert response.status_code == 503
    [(check, why)] = failing(response).items()
    assert check == "UndispatchedRuns()"
    assert "waited 400 s without a live message (limit 300 s)" in why
    assert response.json()["info"]["oldest_undispatched_run_seconds"] == 400


def test_a_run_whose_message_was_published_long_ago_counts_as_undispatched(client, swept):
    long_ago = timezone.now() - dt.timedelta(seconds=400)
    handler_run(next_attempt_at=long_ago, enqueued_at=long_ago)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert set(failing(response)) == {"UndispatchedRuns()"}


@pytest.mark.parametrize(
    "fields",
    [
        # Published (or relayed) recently: its message may still be on its way, queued behind others.
        {"next_attempt_at": -400, "enqueued_at": -30},
        # Waiting out its retry backoff.
        {"next_attempt_at": +60, "enqueued_at": -400},
        # Undispatched, but younger than the limit.
        {"next_attempt_at": -200, "enqueued_at": None},
    ],
)
def test_runs_that_may_still_run_do_not_fail_the_probe(client, swept, fields):
    now = timezone.now()
    handler_run(**{k: None if v is None else now + dt.timedelta(seconds=v) for k, v in fields.items()})
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()


def test_readyz_is_503_with_a_late_pending_timer(client, swept):
    Timer.objects.create(
        kind=TimerKind.SLA_BREACH, subject_id=uuid.uuid4(), due_at=timezone.now() - dt.timedelta(seconds=130)
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    [(check, why)] = failing(response).items()
    assert check == "LateTimers()"
    assert "130 s past due (limit 120 s)" in why


def test_a_timer_due_a_moment_ago_is_not_late(client, swept):
    Timer.objects.create(
        kind=TimerKind.SLA_BREACH, subject_id=uuid.uuid4(), due_at=timezone.now() - dt.timedelta(seconds=20)
    )
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_when_the_broker_does_not_answer(client, swept, settings):
    port = closed_port()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    [(check, why)] = failing(response).items()
    assert check == f"Redis(db=0, host='127.0.0.1', port={port})"
    assert why.startswith("Unavailable: Unable to connect to Redis")


def test_failed_work_is_reported_but_does_not_fail_the_probe(client, swept):
    handler_run(status=HandlerRun.Status.FAILED, attempts=8)
    Timer.objects.create(
        kind=TimerKind.SLA_WARNING,
        subject_id=uuid.uuid4(),
        due_at=timezone.now() - dt.timedelta(hours=1),
        failed_at=timezone.now(),
        attempts=8,
    )
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["info"]["failed_handler_runs"] == 1
    assert response.json()["info"]["failed_timers"] == 1
