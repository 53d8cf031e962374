"""One retry chain per handler run, on real worker processes: a run whose retry message is late past
RELAY_GRACE_SECONDS is published again by the relay, and the late message and the relay's copy must not both run an
attempt (docs/events.md: the attempts follow HANDLER_RUNS' backoff under any backlog).

The handler is the chaos suite's poison (chaos/poison.py, registered in workers of `bench.app` with CHAOS_POISON=1):
it always raises, so every message that runs it is one attempt on the row. The late message is made the way a
deploy makes it: the urgent/default workers stop (warm shutdown, which puts the retry message they held back on
the queue) and start again only after the relay has published the run a second time.
"""

import itertools
import os
import signal
import subprocess
import time
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from care_events.platform.bus.dispatch import runs_publish
from care_events.platform.bus.models import Event, HandlerRun
from care_events.platform.bus.retry import BASE_SECONDS, HANDLER_RUNS
from tests.worker import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# chaos/poison.py's names, written out: importing that module would register the poison handler in this process,
# for every test of the session that emits the event.
POISON_EVENT = "interaction/patient_replied"
POISON_HANDLER = "chaos-poison"


def minimum_wait(attempts: int) -> float:
    """The shortest wait HANDLER_RUNS allows after `attempts` failed attempts (full jitter: half its ceiling)."""
    return min(HANDLER_RUNS.cap_seconds, BASE_SECONDS * 2 ** (attempts - 1)) / 2


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(timeout=60)


@pytest.fixture
def poison_workers(worker):
    """The session's stack with its workers running `bench.app` and the poison handler; restored afterwards."""
    worker.stop_workers()
    app, worker.app = worker.app, "bench.app"
    worker.env["CHAOS_POISON"] = "1"
    try:
        worker.start_workers()
        yield worker
    finally:
        worker.stop_workers()
        worker.app = app
        worker.env.pop("CHAOS_POISON")
        worker.start_workers()


def test_a_late_retry_and_the_relays_copy_run_one_attempt_between_them(poison_workers):
    stack = poison_workers
    with transaction.atomic():
        event = Event.objects.create(
            name=POISON_EVENT, data={"interaction_id": str(uuid.uuid4()), "message_id": str(uuid.uuid4())}
        )
        run = HandlerRun.objects.create(
            event=event, handler=POISON_HANDLER, queue="default", enqueued_at=timezone.now()
        )
        runs_publish([(run.pk, run.handler, run.queue)])
    wait_until(lambda: HandlerRun.objects.get(pk=run.pk).attempts == 1, timeout=30, what="the first attempt")

    # The urgent/default workers (the first two of the stack's list) stop while the retry message waits in them:
    # the message goes back on the queue, and is late once its attempt is due and the workers are still away.
    ordinary, stack.workers = stack.workers[:2], stack.workers[2:]
    _stop(ordinary)
    first = HandlerRun.objects.get(pk=run.pk)
    assert first.attempts == 1, "an attempt ran while the workers were stopping"
    wait_until(
        lambda: HandlerRun.objects.get(pk=run.pk).enqueued_at > first.next_attempt_at,
        timeout=60,
        what="the relay to publish the run again",
    )
    stack.start_workers(count=2, backstop=False)

    # Both the late retry message and the relay's copy are now queued; watch every attempt the row records.
    seen: list[tuple[int, float]] = [(1, 0.0)]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and seen[-1][0] < 3:
        attempts = HandlerRun.objects.get(pk=run.pk).attempts
        if attempts != seen[-1][0]:
            seen.append((attempts, time.monotonic()))
        time.sleep(0.05)
    time.sleep(minimum_wait(2) / 2)  # a second chain's attempt would show now
    final = HandlerRun.objects.get(pk=run.pk)
    assert seen[-1][0] >= 3, f"the run stalled at attempt {seen[-1][0]}"
    assert final.attempts == seen[-1][0], "a second chain ran an attempt after the third"
    # Each observed step is one attempt (two at once would show as a jump), spaced at least by the policy (the first
    # step spans the workers' absence).
    for (before, at_before), (after, at_after) in itertools.pairwise(seen):
        assert after == before + 1, f"attempts {before} → {after} within one look: two messages each ran one"
        assert before == 1 or at_after - at_before >= minimum_wait(before) - 0.5, (
            f"attempt {after} {at_after - at_before:.1f} s after attempt {before}; the policy's minimum is "
            f"{minimum_wait(before):.0f} s"
        )
