"""GET /metrics (config/metrics.py): every family documented in docs/operations.md, with values that match the rows."""

import datetime as dt
import re
import socket
import uuid

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from care_events.choices import Severity
from care_events.platform.bus.health import SWEEP_HEARTBEAT_KEY
from care_events.platform.bus.models import Timer, TimerKind
from care_events.platform.bus.tasks import timers_sweep_task
from tasks_app.services.tasks import task_create
from tests.care_events.factories import EpisodeFactory
from tests.config.test_production import ROOT
from tests.helpers import drain
from tests.tasks_app.factories import NurseShiftFactory

pytestmark = pytest.mark.django_db

DOCUMENTED = set(re.findall(r"^\| `(sequora_[a-z_]+)`", (ROOT / "docs/operations.md").read_text(), re.MULTILINE))


@pytest.fixture(autouse=True)
def private_cache(settings):
    """The sweep's heartbeat in this process's own cache: other test runs share the test Redis, and clear it or
    sweep too (the code under test only sees Django's cache API)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ops"}}


def scrape(client) -> dict[str, dict[tuple, float]]:
    """{exposed name: {sorted label pairs: value}}, as Prometheus stores the samples."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def families(client) -> set[str]:
    """The names a query uses: a counter's with its _total suffix, the others' as declared."""
    text = client.get("/metrics").content.decode()
    return {f"{f.name}_total" if f.type == "counter" else f.name for f in text_string_to_metric_families(text)}


def labelled(samples: dict[tuple, float], **labels: str) -> float:
    return samples[tuple(sorted(labels.items()))]


@pytest.fixture
def swept():
    timers_sweep_task()
    yield
    cache.delete(SWEEP_HEARTBEAT_KEY)


def test_the_documentation_lists_the_metrics():
    assert len(DOCUMENTED) == 19


def test_every_documented_family_is_exposed_and_every_exposed_one_documented(client, swept):
    assert families(client) == DOCUMENTED


def test_a_created_and_drained_task_shows_in_the_metrics(client, swept):
    NurseShiftFactory(nurse__is_supervisor=True)  # someone on shift, to be assigned the task
    task = task_create(episode=EpisodeFactory(), severity=Severity.HIGH, reason_codes=["HF_BREATHING_WORSE"])
    drain()
    task.refresh_from_db()
    assert task.assigned_at is not None

    m = scrape(client)
    assert labelled(m["sequora_events_emitted_total"], event="task/created") == 1
    assert labelled(m["sequora_events_emitted_total"], event="task/assigned") == 1
    assert labelled(m["sequora_events_emitted_total"], event="patient/discharged") == 0  # listed before it happens
    assert m["sequora_sla_warnings_total"][()] == 0
    assert m["sequora_sla_breaches_total"][()] == 0

    runs = m["sequora_handler_runs"]
    assert labelled(runs, handler="assign-task", status="SUCCEEDED") == 1
    # Inline handlers (monitor-sla, send-notification) have no runs, and are not listed.
    assert not any(("handler", "monitor-sla") in labels for labels in runs)
    assert labelled(runs, handler="call-unreached-patient", status="SUCCEEDED") == 0  # every handler is listed
    assert sum(value for labels, value in runs.items() if ("status", "SUCCEEDED") not in labels) == 0

    # The handler durations: a histogram per handler whose +Inf bucket is its count and whose buckets only grow.
    buckets = m["sequora_handler_run_duration_seconds_bucket"]
    assign = sorted(
        (float(dict(labels)["le"]), value) for labels, value in buckets.items() if ("handler", "assign-task") in labels
    )
    assert [value for _, value in assign] == sorted(value for _, value in assign)
    assert assign[-1] == (float("inf"), 1)
    assert labelled(m["sequora_handler_run_duration_seconds_count"], handler="assign-task") == 1
    assert 0 <= labelled(m["sequora_handler_run_duration_seconds_sum"], handler="assign-task") < 60
    assert m["sequora_handler_run_oldest_undispatched_seconds"][()] == 0

    # monitor-sla (inline, at the task's save) scheduled the two SLA timers, due later.
    assert labelled(m["sequora_timers_pending"], kind="SLA_WARNING") == 1
    assert labelled(m["sequora_timers_pending"], kind="SLA_BREACH") == 1
    assert labelled(m["sequora_timers_pending"], kind="CHECKIN_DUE") == 0
    assert sum(m["sequora_timers_due"].values()) == 0
    assert sum(m["sequora_timers_failed"].values()) == 0
    assert m["sequora_timer_oldest_late_seconds"][()] == 0
    assert 0 <= m["sequora_timer_sweep_age_seconds"][()] < 60

    assert m["sequora_celery_broker_up"][()] == 1
    queues = {dict(labels)["queue"] for labels in m["sequora_celery_queue_length"]}
    assert queues == {"urgent", "default", "delivery", "push", "backstop"}
    assert all(value >= 0 for value in m["sequora_celery_queue_length"].values())
    assert m["sequora_celery_unacked_messages"][()] >= 0

    # The nurse's assignment message (SMS by default), sent by the local backend.
    notifications = m["sequora_notifications"]
    assert sum(value for labels, value in notifications.items() if ("channel", "SMS") in labels) == 1
    assert labelled(notifications, channel="SMS", status="PENDING") == 0
    assert sum(notifications.values()) == 1

    assert m["sequora_task_assignment_latency_seconds_count"][()] == 1
    assert m["sequora_task_assignment_latency_seconds_bucket"][(("le", "+Inf"),)] == 1
    assert 0 <= m["sequora_task_assignment_latency_seconds_sum"][()] < 60
    assert m["sequora_tasks_unassigned"][()] == 0


def test_sla_warnings_and_breaches_are_counted(client):
    NurseShiftFactory(nurse__is_supervisor=True, ends_at=timezone.now() + dt.timedelta(days=1))
    task = task_create(episode=EpisodeFactory(), severity=Severity.HIGH, reason_codes=["HF_BREATHING_WORSE"])
    drain()
    with time_machine.travel(task.sla_breach_at + dt.timedelta(seconds=1)):
        drain()
        m = scrape(client)
    assert m["sequora_sla_warnings_total"][()] == 1
    assert m["sequora_sla_breaches_total"][()] == 1
    assert labelled(m["sequora_events_emitted_total"], event="task/sla_breach") == 1


def test_late_and_undispatched_work_shows_its_age(client):
    with time_machine.travel(timezone.now() - dt.timedelta(hours=2)):
        task = task_create(episode=EpisodeFactory(), severity=Severity.HIGH, reason_codes=["HF_BREATHING_WORSE"])
    Timer.objects.filter(subject_id=task.pk).delete()  # its SLA timers, written with it: not what is looked at here
    Timer.objects.create(
        kind=TimerKind.CHECKIN_DUE, subject_id=uuid.uuid4(), due_at=timezone.now() - dt.timedelta(minutes=5)
    )
    m = scrape(client)
    # Its runs were never published (no commit in a test), so they are two hours overdue; nobody took the task.
    assert labelled(m["sequora_handler_runs"], handler="assign-task", status="PENDING") == 1
    assert m["sequora_handler_run_oldest_undispatched_seconds"][()] == pytest.approx(7200, abs=60)
    assert m["sequora_tasks_unassigned"][()] == 1
    assert labelled(m["sequora_timers_pending"], kind="CHECKIN_DUE") == 1
    assert labelled(m["sequora_timers_due"], kind="CHECKIN_DUE") == 1
    assert m["sequora_timer_oldest_late_seconds"][()] == pytest.approx(300, abs=60)


def test_prometheus_asking_for_openmetrics_gets_it(client, swept):
    response = client.get("/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0,text/plain;q=0.5")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text")
    names = {f.name for f in openmetrics_families(response.content.decode())}
    assert {"sequora_events_emitted", "sequora_handler_run_duration_seconds", "sequora_celery_queue_length"} <= names


def test_a_broker_that_does_not_answer_is_reported_and_the_rest_still_scraped(client, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    m = scrape(client)
    assert m["sequora_celery_broker_up"][()] == 0
    assert "sequora_celery_queue_length" not in m
    assert "sequora_events_emitted_total" in m


def test_a_sweep_that_never_ran_is_nan(client):
    cache.delete(SWEEP_HEARTBEAT_KEY)
    m = scrape(client)
    assert m["sequora_timer_sweep_age_seconds"][()] != m["sequora_timer_sweep_age_seconds"][()]  # NaN
