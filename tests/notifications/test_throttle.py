"""The send rate shared by every worker: a token bucket in the real Redis, taken from two processes at once."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.conf import settings

from notifications import throttle

ROOT = Path(__file__).resolve().parents[2]
RATE = 20.0
SECONDS = 2.0


@pytest.fixture
def bucket(settings):
    settings.NOTIFICATION_RATE_PER_SECOND = RATE
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("sequora:send-rate:twilio")
    throttle._client = None
    yield
    throttle._client = None


# A worker process sending as fast as the bucket lets it, for SECONDS; prints how many it sent.
SENDER = """
import sys, time
import django
django.setup()
from django.conf import settings
from notifications import throttle
settings.NOTIFICATION_RATE_PER_SECOND = float(sys.argv[1])
start = time.time()
sent, end = 0, time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    wait = throttle.send_slot_wait("twilio", urgent=False)
    if wait:
        time.sleep(min(wait, 0.05))
    else:
        sent += 1
print(sent, start, time.time())
"""


def test_two_worker_processes_share_one_rate(bucket):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    env["TEST_CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    command = [sys.executable, "-c", SENDER, str(RATE), str(SECONDS)]
    senders = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)  # noqa: S603 - our script
        for _ in range(2)
    ]
    runs = [[float(value) for value in sender.communicate(timeout=60)[0].split()] for sender in senders]
    total = sum(sent for sent, _, _ in runs)
    window = max(end for _, _, end in runs) - min(start for _, start, _ in runs)
    # The bucket starts full, one second's worth, of which routine messages may take all but the half kept for
    # urgent ones; then it refills at RATE, whatever the number of processes taking from it.
    assert total <= RATE / 2 + RATE * window + 1
    assert total >= RATE * SECONDS * 0.8  # and the rate is really used, not starved


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
