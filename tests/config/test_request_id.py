"""The request id (care_events/platform/request_id.py): on the response, on every log record of the request, and in
production's JSON log lines."""

import json
import logging
import os
import re
import subprocess
import sys

import pytest
from django.core.cache import cache
from django.http import HttpResponse

from care_events.platform.bus.health import SWEEP_HEARTBEAT_KEY
from care_events.platform.request_id import RequestIdFilter, RequestIdMiddleware
from tests.config.test_production import REAL_BACKENDS, REQUIRED, ROOT

GENERATED = re.compile(r"[0-9a-f]{32}")


def test_a_request_without_an_id_gets_a_new_one_on_its_response(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert GENERATED.fullmatch(first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_sane_incoming_id_is_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.9_Z")
    assert response["X-Request-ID"] == "lb-7f3a.9_Z"
    assert client.get("/healthz", HTTP_X_REQUEST_ID="x" * 64)["X-Request-ID"] == "x" * 64


@pytest.mark.parametrize("bad", ["", "x" * 65, "two words", 'quote"d', "semi;colon", "line\n", "caf\u00e9", "a/b"])
def test_a_bad_incoming_id_is_replaced(client, bad):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=bad)
    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_the_id_is_on_every_log_record_written_during_the_request_and_only_then(rf, caplog):
    caplog.set_level(logging.INFO, logger="tests.request_id")
    # As production's LOGGING does for its console handler.
    caplog.handler.addFilter(RequestIdFilter())
    log = logging.getLogger("tests.request_id")

    def view(request):
        log.info("serving")
        return HttpResponse("ok")

    response = RequestIdMiddleware(view)(rf.get("/", HTTP_X_REQUEST_ID="req-42"))
    log.info("after")

    assert response["X-Request-ID"] == "req-42"
    assert [(record.getMessage(), record.request_id) for record in caplog.records] == [
        ("serving", "req-42"),
        ("after", None),
    ]


def test_a_generated_id_is_the_one_on_the_log_records(rf, caplog):
    caplog.set_level(logging.INFO, logger="tests.request_id")
    caplog.handler.addFilter(RequestIdFilter())

    def view(request):
        logging.getLogger("tests.request_id").info("serving")
        return HttpResponse("ok")

    response = RequestIdMiddleware(view)(rf.get("/", HTTP_X_REQUEST_ID="not a token"))
    assert caplog.records[0].request_id == response["X-Request-ID"]


@pytest.mark.django_db
def test_the_id_follows_the_request_into_an_async_view_and_its_checks(client, caplog, settings):
    # A private cache: no other test run's sweep can make the check pass.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ops"}}
    # /readyz is async and runs its checks in other threads; a failing check is logged by django-health-check.
    caplog.set_level(logging.WARNING, logger="health_check")
    caplog.handler.addFilter(RequestIdFilter())
    cache.delete(SWEEP_HEARTBEAT_KEY)

    response = client.get("/readyz", HTTP_X_REQUEST_ID="probe-9")

    assert response.status_code == 503
    [record] = [record for record in caplog.records if record.name == "health_check"]
    assert record.getMessage() == "Health check TimerSweep() failed"
    assert record.request_id == "probe-9"


PRODUCTION_SNIPPET = """
import logging
import django
django.setup()
from django.test import Client
response = Client().get("/healthz", HTTP_HOST="care.example.org", HTTP_X_REQUEST_ID="probe-1")
from care_events.platform.request_id import request_id_var
request_id_var.set("req-7")
logging.getLogger("care_events.platform.bus.dispatch").warning("relay: publishing %d pending handler runs again", 3)
print(response.status_code, response["X-Request-ID"])
"""


def test_production_logs_json_lines_with_logger_level_message_and_request_id():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFICATION_", "DJANGO_"))}
    result = subprocess.run(  # noqa: S603 - our own snippet, run by this interpreter
        [sys.executable, "-c", PRODUCTION_SNIPPET],
        cwd=ROOT,
        env={**clean, **REQUIRED, **REAL_BACKENDS},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Probes call the pod over plain HTTP: no redirect to HTTPS for /healthz.
    assert result.stdout.split() == ["200", "probe-1"]
    [line] = [line for line in result.stderr.splitlines() if "relay:" in line]
    record = json.loads(line)
    assert record["logger"] == "care_events.platform.bus.dispatch"
    assert record["level"] == "WARNING"
    assert record["message"] == "relay: publishing 3 pending handler runs again"
    assert record["request_id"] == "req-7"
    assert "time" in record
