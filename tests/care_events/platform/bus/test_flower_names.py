"""Flower names each message after what it runs (Celery's `shadow`), and a message carries ids only.

The messages are really published, to the test broker, and captured on the way out (the `published` fixture,
conftest.py): their `headers` are the message's (`shadow` is the name Flower and the worker's log show).
"""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from care_events.platform.bus.catalogue import URGENT
from care_events.platform.bus.dispatch import handler_runs_redrive, handler_runs_relay
from care_events.platform.bus.models import HandlerRun, TimerKind
from care_events.platform.bus.timers import timer_schedule
from tests.care_events.platform.bus.conftest import Published
from tests.tasks_app.factories import EscalationTaskFactory

pytestmark = pytest.mark.django_db

HANDLER_RUN_TASK = "bus.handler_run"
TIMER_FIRE_TASK = "bus.timer_fire"


def assert_ids_only(message: Published, pk: int) -> None:
    assert message.args == [pk]
    assert message.kwargs == {}
    # What Flower prints as the arguments.
    assert message.headers["argsrepr"] == repr([pk])
    assert message.headers["kwargsrepr"] == "{}"


def test_emit_publishes_each_run_named_after_its_handler_with_its_id_only(
    published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        task = EscalationTaskFactory()  # its save emits task/created: assign-task (urgent); monitor-sla is inline
    runs = {run.handler: run for run in HandlerRun.objects.filter(event__data__task_id=str(task.pk))}
    messages = {message.headers["shadow"]: message for message in published}
    assert set(messages) == {"assign-task"}
    for handler, message in messages.items():
        assert message.task == HANDLER_RUN_TASK
        assert message.headers["task"] == HANDLER_RUN_TASK
        assert message.queue == runs[handler].queue
        assert_ids_only(message, runs[handler].pk)
    assert messages["assign-task"].queue == URGENT
    # Published for real: the broker took them.
    assert all(run.enqueued_at is not None for run in HandlerRun.objects.filter(pk__in=[r.pk for r in runs.values()]))


def test_the_relay_publishes_a_lost_run_under_its_handler_name(published):
    task = EscalationTaskFactory()  # its runs are recorded; their publish waits for a commit that never comes
    run = HandlerRun.objects.get(event__data__task_id=str(task.pk), handler="assign-task")
    five_minutes_ago = timezone.now() - dt.timedelta(minutes=5)
    HandlerRun.objects.filter(event__data__task_id=str(task.pk)).update(
        next_attempt_at=five_minutes_ago, enqueued_at=five_minutes_ago
    )
    assert handler_runs_relay() == 1
    message = next(message for message in published if message.args == [run.pk])
    assert message.headers["shadow"] == "assign-task"
    assert message.queue == URGENT
    assert_ids_only(message, run.pk)


def test_a_redriven_run_is_published_under_its_handler_name(published, django_capture_on_commit_callbacks):
    task = EscalationTaskFactory()
    run = HandlerRun.objects.get(event__data__task_id=str(task.pk), handler="assign-task")
    HandlerRun.objects.filter(pk=run.pk).update(status=HandlerRun.Status.FAILED, attempts=8)
    with django_capture_on_commit_callbacks(execute=True):
        assert handler_runs_redrive(run_ids=[run.pk]) == 1
    [message] = published
    assert message.headers["shadow"] == "assign-task"
    assert message.queue == URGENT
    assert_ids_only(message, run.pk)


def test_a_timer_message_is_named_after_its_kind_with_its_id_only(published, django_capture_on_commit_callbacks):
    due_at = timezone.now() + dt.timedelta(minutes=5)  # within the horizon (TIMER_HORIZON_SECONDS, 10 min)
    with django_capture_on_commit_callbacks(execute=True):
        timer = timer_schedule(kind=TimerKind.SLA_BREACH, subject_id=uuid.uuid4(), due_at=due_at)
    [message] = published
    assert message.task == TIMER_FIRE_TASK
    assert message.headers["shadow"] == "timer:SLA_BREACH"
    assert message.queue == URGENT
    assert dt.datetime.fromisoformat(message.headers["eta"]) == due_at
    assert_ids_only(message, timer.pk)


def test_a_countdown_timer_message_is_named_after_its_kind(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        timer = timer_schedule(
            kind=TimerKind.CHECKIN_DUE, subject_id=uuid.uuid4(), due_at=timezone.now() + dt.timedelta(minutes=5)
        )
    [message] = published
    assert message.headers["shadow"] == "timer:CHECKIN_DUE"
    assert_ids_only(message, timer.pk)
