"""Timers are rows until they come within the horizon; the backstops have their own queue; nothing writes to a row
once its message is out. The messages are really published to the test broker (the `published` fixture)."""

import datetime as dt
import threading
import uuid

import pytest
import time_machine
from celery.signals import after_task_publish
from django.conf import settings
from django.db import connection
from django.utils import timezone

from care_events.platform.bus import dispatch
from care_events.platform.bus.catalogue import BACKSTOP
from care_events.platform.bus.dispatch import handler_runs_relay
from care_events.platform.bus.models import HandlerRun, Timer, TimerKind
from care_events.platform.bus.tasks import handler_run_task
from care_events.platform.bus.timers import timer_schedule, timers_fire_due, timers_publish_horizon
from notifications.models import NotificationLog
from notifications.services.delivery import notifications_relay
from tests.notifications.factories import NotificationLogFactory
from tests.tasks_app.factories import EscalationTaskFactory

TIMER_FIRE_TASK = "bus.timer_fire"
BACKSTOP_TASKS = {
    "bus.timers_sweep",
    "bus.timers_publish_horizon",
    "bus.events_relay",
    "notifications.relay",
    "webhooks.relay",
    "tasks_app.hand_over_sweep",
}


def horizon() -> dt.timedelta:
    return dt.timedelta(seconds=settings.TIMER_HORIZON_SECONDS)


def timer_messages(published, timer_id: int) -> list:
    return [message for message in published if message.task == TIMER_FIRE_TASK and message.args == [timer_id]]


@pytest.mark.django_db
def test_a_timer_beyond_the_horizon_is_a_row_until_the_horizon_job_publishes_it_once(
    published, django_capture_on_commit_callbacks
):
    due_at = timezone.now() + dt.timedelta(hours=24)
    with django_capture_on_commit_callbacks(execute=True):
        timer = timer_schedule(kind=TimerKind.SLA_BREACH, subject_id=uuid.uuid4(), due_at=due_at)
    assert published == []
    assert timers_publish_horizon() == 0  # 24 h away: still a row
    timer.refresh_from_db()
    assert timer.published_at is None

    with time_machine.travel(due_at - horizon() + dt.timedelta(seconds=1), tick=False):
        assert timers_publish_horizon() == 1
        assert timers_publish_horizon() == 0  # marked in the same claim: never twice
    [message] = timer_messages(published, timer.pk)
    assert dt.datetime.fromisoformat(message.headers["eta"]) == due_at
    assert message.headers["shadow"] == "timer:SLA_BREACH"
    timer.refresh_from_db()
    assert timer.published_at is not None and timer.fired_at is None


@pytest.mark.django_db
def test_a_timer_within_the_horizon_is_published_at_scheduling_and_not_again_by_the_job(
    published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        timer = timer_schedule(
            kind=TimerKind.CHECKIN_NO_ANSWER, subject_id=uuid.uuid4(), due_at=timezone.now() + horizon() / 2
        )
    assert timers_publish_horizon() == 0
    assert len(timer_messages(published, timer.pk)) == 1
    assert "countdown" not in published[0].headers  # a countdown is sent as an ETA: what matters is the due time
    assert Timer.objects.get(pk=timer.pk).published_at is not None


@pytest.mark.django_db
def test_the_sweep_fires_a_due_timer_no_message_was_published_for(published):
    task = EscalationTaskFactory(sla_minutes=120)  # its SLA timers are scheduled by monitor-sla, inline, at its save
    # Its breach timer comes due with no message published for it (as if Redis lost it).
    Timer.objects.filter(kind=TimerKind.SLA_BREACH, subject_id=task.pk).update(due_at=timezone.now(), published_at=None)
    timer = Timer.objects.get(kind=TimerKind.SLA_BREACH, subject_id=task.pk)
    assert timers_fire_due() == 1
    timer.refresh_from_db()
    assert timer.fired_at is not None and timer.published_at is None


@pytest.mark.django_db(transaction=True)
def test_horizon_jobs_running_at_once_publish_each_timer_once(published):
    soon = timezone.now() + horizon() / 2
    timers = Timer.objects.bulk_create(
        Timer(kind=TimerKind.SLA_WARNING, subject_id=uuid.uuid4(), due_at=soon) for _ in range(120)
    )
    errors: list[BaseException] = []

    def publish_here() -> None:
        try:
            timers_publish_horizon(limit=10)  # small batches, so that the jobs interleave
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish_here) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = sorted(message.args[0] for message in published if message.task == TIMER_FIRE_TASK)
    assert ids == sorted(timer.pk for timer in timers)
    assert not Timer.objects.filter(published_at=None).exists()


@pytest.mark.django_db
def test_nothing_writes_to_a_run_once_its_message_is_out(published, django_capture_on_commit_callbacks):
    """A worker takes a message the instant it is published. If the publisher then wrote to the run's row (it once
    stamped enqueued_at after each publish), the row would be locked for that UPDATE, the worker's SKIP LOCKED claim
    would skip it and acknowledge the message, and the run would wait for the relay: the response whose first
    message waited 87 s for its task."""
    out: list[str] = []
    after_publish: list[str] = []

    def message_out(headers: dict, **kwargs: object) -> None:
        out.append(headers["id"])

    def watch(execute, sql, params, many, context):
        if out:
            after_publish.append(sql)
        return execute(sql, params, many, context)

    after_task_publish.connect(message_out, weak=False)
    try:
        with connection.execute_wrapper(watch), django_capture_on_commit_callbacks(execute=True):
            EscalationTaskFactory()  # task/created: assign-task published after the commit (monitor-sla is inline)
    finally:
        after_task_publish.disconnect(message_out)
    assert len(out) == 1
    assert [sql for sql in after_publish if "care_events_handlerrun" in sql] == []
    assert HandlerRun.objects.filter(enqueued_at=None).count() == 0  # stamped with the row, before the publish


@pytest.mark.django_db
def test_a_send_whose_worker_died_is_relayed_as_soon_as_its_lease_expires(published):
    """The lease is the grace of an attempt: a send whose worker died is published again at the first relay after
    it (NOTIFICATION_SEND_LEASE_SECONDS + SWEEP_INTERVAL_SECONDS), not a relay grace later."""
    now = timezone.now()
    lease = dt.timedelta(seconds=settings.NOTIFICATION_SEND_LEASE_SECONDS)
    dead = NotificationLogFactory(
        attempts=1, last_attempt_at=now - lease - dt.timedelta(seconds=1), in_doubt_since=now - lease
    )
    # As its claim left it: the lease taken then (over a second ago), written then.
    NotificationLog.objects.filter(pk=dead.pk).update(
        next_attempt_at=dead.last_attempt_at + lease, updated_at=dead.last_attempt_at
    )
    sending = NotificationLogFactory(
        attempts=1, last_attempt_at=now, next_attempt_at=now + lease, in_doubt_since=now
    )  # a live attempt
    assert notifications_relay() == 1
    assert [message.args for message in published] == [[str(dead.pk)]]
    sending.refresh_from_db()
    assert sending.next_attempt_at == now + lease


def test_the_backstops_have_their_own_queue_and_never_expire():
    routed = {task for task, route in settings.CELERY_TASK_ROUTES.items() if route["queue"] == BACKSTOP}
    assert routed == BACKSTOP_TASKS
    scheduled = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for task in BACKSTOP_TASKS:
        assert "expires" not in scheduled[task].get("options", {}), task
    assert settings.CELERY_VISIBILITY_TIMEOUT > settings.TIMER_HORIZON_SECONDS


@pytest.mark.django_db
def test_a_run_still_pending_is_relayed_again_after_twice_the_wait_not_every_grace_period(published):
    """Queued behind a backlog longer than the grace, a message is not lost: publishing it again every grace period
    multiplied the backlog (thousands of duplicates in the worker tests). Each relay of a run waits as long again as
    the run had waited before the last one."""
    EscalationTaskFactory()  # its run (assign-task), enqueued with the row; no worker takes it here
    grace = dt.timedelta(seconds=settings.RELAY_GRACE_SECONDS)
    start = HandlerRun.objects.get(handler="assign-task").enqueued_at
    second = dt.timedelta(seconds=1)
    for offset, relayed in [
        (grace + second, 1),  # the first relay: a grace after the publish
        (grace + 2 * second, 0),
        (2 * grace + 1.5 * second, 0),  # a grace since the relay, but not yet as long as the wait before it
        (2 * grace + 3 * second, 1),
        (4 * grace + 5 * second, 0),
        (4 * grace + 7 * second, 1),
    ]:
        with time_machine.travel(start + offset, tick=False):
            assert handler_runs_relay() == relayed, offset


@pytest.mark.django_db
def test_a_retry_due_beyond_the_horizon_is_not_held_by_celery_but_relayed_when_due(monkeypatch, settings, published):
    EscalationTaskFactory()
    run = HandlerRun.objects.get(handler="assign-task")

    def broken(payload: dict) -> None:
        raise RuntimeError("database said no")

    # A subscriber that fails, in place of assign-task for this test only: the retry path is the thing under test.
    monkeypatch.setitem(
        dispatch._handlers, "assign-task", dispatch.Handler("assign-task", "task/created", broken, "urgent")
    )
    settings.TIMER_HORIZON_SECONDS = 0  # every retry's wait is beyond it
    result = handler_run_task.apply(args=[run.pk])  # the task's own code, in this process
    assert result.state == "SUCCESS"  # no Celery retry: a countdown would sit in a worker's memory
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("PENDING", 1)
    assert run.next_attempt_at > timezone.now()

    monkeypatch.undo()
    assert handler_runs_relay() == 0  # not due yet
    due = run.next_attempt_at + dt.timedelta(seconds=settings.RELAY_GRACE_SECONDS + 1)
    with time_machine.travel(due, tick=False):
        assert handler_runs_relay() == 1
    assert [message.args for message in published if message.headers["shadow"] == "assign-task"] == [[run.pk]]


@pytest.mark.django_db
def test_a_notification_still_pending_is_relayed_again_after_twice_the_wait(published):
    log = NotificationLogFactory()  # pending, due at its creation; its message (never published here) is "lost"
    start = log.next_attempt_at
    grace = dt.timedelta(seconds=settings.RELAY_GRACE_SECONDS)
    second = dt.timedelta(seconds=1)
    for offset, relayed in [
        (grace + second, 1),
        (grace + 2 * second, 0),
        (2 * grace + 1.5 * second, 0),
        (2 * grace + 3 * second, 1),
    ]:
        with time_machine.travel(start + offset, tick=False):
            assert notifications_relay() == relayed, offset
    assert [message.args for message in published] == [[str(log.pk)], [str(log.pk)]]
