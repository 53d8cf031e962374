"""Timers with a horizon, on real workers, the backstop worker and Beat (tests/worker.py: horizon 4 s, sweep 1 s).

A timer further away than the horizon is a row only: no message in Redis, none held by a worker. The horizon job
publishes it once it comes within the horizon, and its ETA message fires it on time. Open tasks with far-off SLAs
hold nothing in the workers, however many there are.
"""

import datetime as dt
import json

import pytest
from django.utils import timezone

from care_events.platform.bus.catalogue import BACKSTOP, DEFAULT, URGENT
from care_events.platform.bus.models import Event, Timer
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask
from tests.tasks_app.factories import EscalationTaskFactory, NurseShiftFactory
from tests.worker import WORKER_SETTINGS, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TIMER_FIRE_TASK = "bus.timer_fire"
HORIZON = dt.timedelta(seconds=int(WORKER_SETTINGS["TIMER_HORIZON_SECONDS"]))


def broker_messages(worker) -> list[tuple[dict, str]]:
    """Every message the broker holds, with where: queued ("queued"), or delivered to a worker and not yet
    acknowledged, as an ETA message is until it runs ("held")."""
    queued = [payload for queue in (URGENT, DEFAULT, BACKSTOP) for payload in worker.broker.lrange(queue, 0, -1)]
    return [(json.loads(payload), "queued") for payload in queued] + [
        (json.loads(value)[0], "held") for value in worker.broker.hvals("unacked")
    ]


def timer_messages_in_redis(worker) -> dict[int, str]:
    """Where the broker holds a message of each timer, by timer id."""
    return {
        int(message["headers"]["argsrepr"].strip("[]")): where
        for message, where in broker_messages(worker)
        if message["headers"]["task"] == TIMER_FIRE_TASK
    }


def test_a_timer_beyond_the_horizon_is_published_by_the_horizon_job_and_fires_on_time(worker):
    nurse = NurseShiftFactory().nurse
    now = timezone.now()
    task = EscalationTaskFactory(
        sla_warning_at=now + dt.timedelta(seconds=9), sla_breach_at=now + dt.timedelta(seconds=30)
    )
    warning = wait_until(
        lambda: Timer.objects.filter(subject_id=task.pk, kind="SLA_WARNING").first(), what="the SLA timers"
    )
    assert warning.published_at is None, "9 s away with a 4 s horizon: a row, not a message"
    assert warning.pk not in timer_messages_in_redis(worker)

    warning = wait_until(
        lambda: Timer.objects.filter(pk=warning.pk).exclude(published_at=None).first(), what="the horizon job"
    )
    # Published as it came within the horizon (the job runs every second here), not before.
    assert warning.due_at - HORIZON <= warning.published_at < warning.due_at - HORIZON + dt.timedelta(seconds=2.5)
    assert timer_messages_in_redis(worker).get(warning.pk) in {"queued", "held"}
    breach = Timer.objects.get(subject_id=task.pk, kind="SLA_BREACH")
    assert breach.published_at is None and breach.pk not in timer_messages_in_redis(worker)

    sent = wait_until(
        lambda: NotificationLog.objects.filter(type="SLA_WARNING", task=task, status="SENT").first(),
        what="the warning SMS",
    )
    warning.refresh_from_db()
    # On time: the ETA message fires it within the fast path's latency, well inside the 1 s sweep.
    assert warning.due_at <= warning.fired_at < warning.due_at + dt.timedelta(seconds=0.5)
    assert sent.recipient_nurse_id == nurse.pk
    assert Event.objects.filter(name="task/sla_warning").count() == 1
    assert warning.pk not in timer_messages_in_redis(worker)  # acknowledged once it ran


def test_open_tasks_with_far_slas_hold_no_message_in_the_workers(worker):
    """Before the horizon, each open task's two SLA stages sat in a worker's memory as ETA messages until due."""
    NurseShiftFactory(nurse__max_open_tasks=100)
    for _ in range(40):
        EscalationTaskFactory(sla_minutes=8 * 60)
    wait_until(lambda: EscalationTask.objects.filter(status="ASSIGNED").count() == 40, what="40 assignments")
    # Two SLA stages each (an urgent alert's fallback and unreachable timers, far too, are not counted here).
    sla_timers = Timer.objects.filter(kind__in=["SLA_WARNING", "SLA_BREACH"])
    wait_until(lambda: sla_timers.count() == 80, what="80 SLA timers")
    wait_until(lambda: NotificationLog.objects.filter(status="SENT").count() == 40, what="40 nurse messages")

    assert not Timer.objects.exclude(published_at=None).exists()
    assert timer_messages_in_redis(worker) == {}
    assert [message for message, _ in broker_messages(worker) if message["headers"].get("eta")] == []
