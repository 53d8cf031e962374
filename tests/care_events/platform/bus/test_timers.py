import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from care_events.platform.bus import timers
from care_events.platform.bus.models import Event, Timer
from care_events.platform.bus.retry import TIMERS
from tests.helpers import drain
from tests.tasks_app.factories import EscalationTaskFactory

pytestmark = pytest.mark.django_db


def test_a_failing_timer_is_recorded_pushed_back_and_fired_by_a_later_sweep(monkeypatch):
    task = EscalationTaskFactory(sla_minutes=60)
    drain()
    timer = Timer.objects.get(subject_id=task.pk, kind="SLA_WARNING")
    Timer.objects.filter(pk=timer.pk).update(due_at=timezone.now())

    def broken(subject_id, due_at):
        raise RuntimeError("value +15551234567 refused")

    # Fault injection in place of the real handler: timer_fire's failure path is the thing under test.
    monkeypatch.setitem(timers._timer_handlers, "SLA_WARNING", timers.TimerHandler(broken, "default", False))
    with pytest.raises(timers.TimerFailedError) as excinfo:
        timers.timer_fire(timer_id=timer.pk)
    assert "+1555" not in str(excinfo.value) and excinfo.value.__cause__ is None
    assert timers.timers_fire_due() == 0  # not due any more: pushed back by the backoff
    timer.refresh_from_db()
    assert (timer.fired_at, timer.attempts, timer.due_at > timezone.now()) == (None, 1, True)
    assert timer.last_error == "RuntimeError"  # the class, never the text that quoted a phone number

    monkeypatch.undo()
    with time_machine.travel(timer.due_at + dt.timedelta(seconds=1), tick=False):
        assert timers.timers_fire_due() == 1
        assert timers.timers_fire_due() == 0
        drain()
    assert Event.objects.filter(name="task/sla_warning").count() == 1


def test_a_timer_that_keeps_failing_is_given_up_after_its_attempts_and_can_be_rearmed(monkeypatch):
    task = EscalationTaskFactory(sla_minutes=60)
    drain()
    timer = Timer.objects.get(subject_id=task.pk, kind="SLA_WARNING")
    Timer.objects.filter(pk=timer.pk).update(due_at=timezone.now(), attempts=TIMERS.max_attempts - 1)

    def broken(subject_id, due_at):
        raise RuntimeError("still broken")

    monkeypatch.setitem(timers._timer_handlers, "SLA_WARNING", timers.TimerHandler(broken, "default", False))
    with pytest.raises(timers.TimerFailedError):
        timers.timer_fire(timer_id=timer.pk)
    timer.refresh_from_db()
    assert (timer.fired_at, timer.attempts, timer.failed_at is not None) == (None, TIMERS.max_attempts, True)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10), tick=False):
        assert timers.timers_fire_due() == 0  # given up: the sweep no longer tries it

    monkeypatch.undo()
    assert timers.timers_rearm(timer_ids=[timer.pk]) == 1
    assert timers.timers_fire_due() == 1
    drain()
    timer.refresh_from_db()
    assert (timer.failed_at, timer.fired_at is not None) == (None, True)
    assert Event.objects.filter(name="task/sla_warning").count() == 1


def test_one_sweep_fires_every_due_timer_batch_after_batch():
    tasks = [EscalationTaskFactory(sla_minutes=60) for _ in range(5)]
    drain()
    Timer.objects.filter(kind="SLA_WARNING").update(due_at=timezone.now())
    # After a wiped broker every due timer is the sweep's: not one batch per interval, but until none is left due.
    assert timers.timers_fire_due(limit=2) == 5
    assert not Timer.objects.pending().filter(kind="SLA_WARNING", subject_id__in=[t.pk for t in tasks]).exists()
