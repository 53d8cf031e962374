import time
from collections.abc import Iterator

import pytest
from django.core.management.base import CommandError
from django.db import OperationalError
from django.test import TransactionTestCase
from rest_framework.test import APIClient

from tests.helpers import admin_login
from tests.notifications.fake_twilio import fake_twilio_fixture  # noqa: F401 - the `fake_twilio` fixture


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's `admin_client`, logged in as a person is: password, then a TOTP code (admin requires one)."""
    return admin_login(client, admin_user)


@pytest.fixture(scope="session", autouse=True)
def flush_tried_again_after_a_deadlock() -> Iterator[None]:
    """A `transaction=True` test ends with a flush, one TRUNCATE taking every table's lock in turn, while the
    session's workers (they outlive tests) may still be finishing a query that holds one table and wants another:
    PostgreSQL then picks one of the two as a deadlock's victim, sometimes the flush. The flush is tried again."""
    teardown = TransactionTestCase._fixture_teardown

    def tried_again(self: TransactionTestCase) -> None:
        for attempt in range(3):
            try:
                return teardown(self)
            except CommandError as error:
                if attempt == 2 or not isinstance(error.__cause__, OperationalError):
                    raise
                time.sleep(0.5)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", tried_again)
        yield


@pytest.fixture(scope="session")
def celery_stack(django_db_setup, django_db_blocker):
    """Two real worker processes and Beat, for the whole session; tests may kill and restart the workers."""
    from tests.worker import CeleryStack

    stack = CeleryStack()
    stack.flush_redis()
    stack.start_workers()
    stack.start_beat()
    yield stack
    stack.stop()


@pytest.fixture
def worker(celery_stack, settings):
    """The running stack, with Twilio's request log cleared and both workers up. This process runs with the
    workers' settings too: work it commits runs its inline handlers here (a task's SLA timers, a message's row and
    the choice of its backend), as a web process does beside its workers."""
    from config.settings.product import NOTIFICATION_BACKEND_ALIASES
    from tests.worker import WORKER_SETTINGS

    for name, value in WORKER_SETTINGS.items():
        if name == "NOTIFICATION_SMS_BACKEND":
            continue
        if "=" in value:  # minutes by severity, "CRITICAL=0.15", read as config/settings/product.py reads it
            setattr(settings, name, {k: float(v) for k, v in (pair.split("=") for pair in value.split(","))})
        else:
            setattr(settings, name, int(value))
    settings.NOTIFICATION_BACKENDS = {
        **settings.NOTIFICATION_BACKENDS,
        "SMS": NOTIFICATION_BACKEND_ALIASES[WORKER_SETTINGS["NOTIFICATION_SMS_BACKEND"]],
    }
    for name, value in celery_stack.twilio.settings_overrides().items():
        setattr(settings, name, float(value) if name == "TWILIO_TIMEOUT_SECONDS" else value)
    celery_stack.twilio.reset()
    if not celery_stack.workers:
        celery_stack.start_workers()
    yield celery_stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The real-worker tests run last. Their Celery workers live for the rest of the session and consume whatever
    a later test commits (a `transaction=True` test's messages), on the real clock rather than a test's travelled
    one, which would race that test's own in-process draining."""

    def marked(item: pytest.Item, name: str) -> bool:
        return item.get_closest_marker(name) is not None

    # The real-browser tests (tests/browser/) just before them: they run against a live server, so their
    # `transaction=True` flush empties the tables the migrations filled (the role groups) for the tests after.
    items.sort(key=lambda item: (marked(item, "worker"), marked(item, "browser")))
