"""The `published` fixture: every Celery message the code under test publishes, captured on its way to the broker."""

import json
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from celery.signals import before_task_publish
from django.conf import settings

from care_events.platform.bus.catalogue import BACKSTOP, DEFAULT, URGENT


@dataclass
class Published:
    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    headers: dict[str, Any]
    queue: str


@pytest.fixture
def published():
    """Every message published while the test runs; taken off the broker's queues afterwards, so no worker of a
    later test runs them."""
    messages: list[Published] = []

    def capture(sender: str, body: Any, headers: dict[str, Any], routing_key: str, **kwargs: Any) -> None:
        args, kwargs_, _embed = body
        messages.append(Published(sender, list(args), dict(kwargs_), dict(headers), routing_key))

    before_task_publish.connect(capture, weak=False)
    yield messages
    before_task_publish.disconnect(capture)
    ids = {message.headers["id"] for message in messages}
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        for queue in (URGENT, DEFAULT, BACKSTOP):
            for raw in broker.lrange(queue, 0, -1):
                if json.loads(raw)["headers"].get("id") in ids:
                    broker.lrem(queue, 1, raw)
    finally:
        broker.close()
