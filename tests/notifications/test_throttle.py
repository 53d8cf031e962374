"""The send rate shared by every worker: a token bucket in the real Redis, taken from two processes at once."""

import multiprocessing
import time

import pytest
import redis

from notifications import throttle

RATE = 20.0
SECONDS = 2.0


@pytest.fixture
def bucket(settings):
    settings.NOTIFICATION_RATE_PER_SECOND = RATE
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("sequora:send-rate:twilio")
    throttle._client = None
    yield
    throttle._client = None


def _send_for(seconds: float, urgent: bool, results: "multiprocessing.Queue[int]") -> None:
    """A worker process sending as fast as the bucket lets it."""
    throttle._client = None  # a connection of this process's own
    sent, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        wait = throttle.send_slot_wait("twilio", urgent=urgent)
        if wait:
            time.sleep(min(wait, 0.05))
        else:
            sent += 1
    results.put(sent)


def test_two_worker_processes_share_one_rate(bucket):
    results: multiprocessing.Queue[int] = multiprocessing.Queue()
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_send_for, args=(SECONDS, False, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    total = results.get(timeout=5) + results.get(timeout=5)
    # The bucket starts full (one second's worth, half of it kept for urgent messages), then refills at RATE.
    assert RATE * SECONDS * 0.8 <= total <= RATE * SECONDS + RATE / 2 + 2


def test_urgent_messages_go_first(bucket):
    # Routine sends drain the bucket down to the reserve kept for urgent messages...
    while throttle.send_slot_wait("twilio", urgent=False) == 0:
        pass
    assert throttle.send_slot_wait("twilio", urgent=False) > 0
    # ...which an urgent message may still take at once.
    assert throttle.send_slot_wait("twilio", urgent=True) == 0


def test_the_local_backend_and_a_zero_rate_are_never_held_back(settings):
    settings.NOTIFICATION_RATE_PER_SECOND = 0
    assert throttle.send_slot_wait("twilio", urgent=False) == 0
    settings.NOTIFICATION_RATE_PER_SECOND = 1
    assert all(throttle.send_slot_wait("local", urgent=False) == 0 for _ in range(5))


def test_redis_down_does_not_hold_messages_back(bucket, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    throttle._client = None
    assert throttle.send_slot_wait("twilio", urgent=False) == 0
