"""Issue 19 row 2, in a real push worker: Celery's time limits stop a delivery. The push endpoint drips one byte
every 2 s and the push's own deadline is set far away (60 s), so only the worker's soft time limit (3 s here) can end
the attempt: it does, the attempt is recorded on the row, and the endpoint's connection is cut. The message went to
the `push` queue (delivery_publish chooses it for a PUSH row), consumed by a worker of processes as production runs
it (docker-compose.yml, scripts/run.sh)."""

import base64
import datetime as dt
import os
import time

import pytest
from django.db import transaction
from django.utils import timezone
from py_vapid import Vapid

from care_events.choices import Channel, NotificationType
from config.celery_app import app
from notifications.models import NotificationLog
from notifications.services.create import notification_row_create
from tests.notifications.test_outbound_guard import drip, serve  # noqa: F401 - serve is a fixture
from tests.notifications.test_push import Browser, public_point
from tests.tasks_app.factories import NurseFactory
from tests.worker import CeleryStack, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def push_worker(serve, settings, monkeypatch):  # noqa: F811
    """A push worker of one process, with production's pool and a 3 s soft, 5 s hard time limit on deliveries. The
    publisher puts the limits in the message (Celery's `timelimit` header, which the worker obeys), so this process,
    which publishes, has them too, as every process of a deployment shares its settings."""
    from notifications.tasks import notification_deliver_task

    monkeypatch.setattr(notification_deliver_task, "soft_time_limit", 3)
    monkeypatch.setattr(notification_deliver_task, "time_limit", 5)
    # Celery caches a task's execution options (its limits among them) at its first publish: an earlier test of the
    # session published this task already, with the settings' 40 s soft limit, which the header would carry.
    monkeypatch.setattr(notification_deliver_task, "_exec_options", None)
    key = Vapid()
    key.generate_keys()
    vapid = {
        "VAPID_PRIVATE_KEY": b64url(key.private_key.private_numbers().private_value.to_bytes(32, "big")),
        "VAPID_PUBLIC_KEY": b64url(public_point(key.private_key)),
        "VAPID_SUBJECT": "mailto:alerts@sequora.example",
    }
    for name, value in vapid.items():
        setattr(settings, name, value)
    settings.NOTIFICATION_BACKENDS = {
        **settings.NOTIFICATION_BACKENDS,
        "PUSH": "notifications.backends.push.WebPushBackend",
    }
    stack = CeleryStack(
        overrides={
            **vapid,
            "NOTIFICATION_PUSH_BACKEND": "webpush",
            "PUSH_ALLOWED_HOSTS": "localhost",
            "PUSH_ALLOW_PRIVATE_HOSTS": "true",
            "PUSH_TIMEOUT_SECONDS": "60",
            "DELIVERY_SOFT_TIME_LIMIT_SECONDS": "3",
            "DELIVERY_TIME_LIMIT_SECONDS": "5",
            "REQUESTS_CA_BUNDLE": os.environ["REQUESTS_CA_BUNDLE"],  # the serve fixture's CA
        }
    )
    name = f"push-{os.getpid()}"
    options = ["-Q", "push", "--concurrency", "1", "--hostname", f"{name}@%h", "--loglevel", "INFO"]
    stack.workers.append(stack._spawn(name, "worker", *options, "--without-mingle", "--without-gossip"))
    try:
        wait_until(
            lambda: any(node.startswith(f"{name}@") for reply in app.control.ping(timeout=0.5) or [] for node in reply),
            timeout=60,
            what="the push worker",
        )
        yield stack
    finally:
        stack.stop()


def test_the_push_workers_soft_time_limit_ends_a_dripping_push(push_worker, serve):  # noqa: F811
    server = serve(drip)
    nurse = NurseFactory(preferred_channel=Channel.PUSH)
    Browser(f"https://localhost:{server.port}/wpush/trap").subscribe(nurse)
    with transaction.atomic():
        log = notification_row_create(
            notification_type=NotificationType.TASK_ASSIGNED,
            dedupe_key=f"push-limit-{nurse.pk}",
            channel=Channel.PUSH,
            recipient_nurse=nurse,
            recipient_patient=None,
            task=None,
            episode=None,
            urgent=True,
            deadline=timezone.now() + dt.timedelta(minutes=10),
            words=("Sequora: test", "Sequora: a push that drips"),
        )
    started = time.monotonic()

    row = wait_until(
        lambda: NotificationLog.objects.filter(pk=log.pk, error_code="backend_error").first(),
        timeout=30,
        what="the attempt to be stopped",
    )
    elapsed = time.monotonic() - started

    assert row.attempts == 1
    # The 3 s soft limit, not the push's 60 s deadline (the margin is for a loaded CI machine: about 3.2 s here).
    assert elapsed < 20, (elapsed, push_worker.logs())
    assert "SoftTimeLimitExceeded" in push_worker.logs()
    wait_until(lambda: "cut off" in server.hits, timeout=10, what="the endpoint's connection to be cut")
