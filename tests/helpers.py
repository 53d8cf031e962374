"""Runs the product's own queued work in the test process, through the same functions the Celery tasks call.

Tests of the workflows' logic use this; tests of locks, redelivery and timers against a real worker are in
tests/test_worker_*.py.
"""

from django.utils import timezone

from care_events.bus.dispatch import handler_run_execute
from care_events.bus.models import Event, HandlerRun
from care_events.bus.timers import timers_fire_due
from notifications.models import NotificationLog
from notifications.services.delivery import notification_deliver


def drain(max_rounds: int = 50) -> None:
    """Run every pending handler run, due timer and pending delivery until nothing is left to do now."""
    for _ in range(max_rounds):
        progressed = False
        now = timezone.now()
        for run_id in HandlerRun.objects.filter(status="PENDING", next_attempt_at__lte=now).values_list(
            "pk", flat=True
        ):
            progressed |= handler_run_execute(run_id=run_id)
        progressed |= timers_fire_due() > 0
        for log_id in NotificationLog.objects.filter(status="PENDING", next_attempt_at__lte=now).values_list(
            "pk", flat=True
        ):
            notification_deliver(notification_id=log_id)
            progressed = True
        if not progressed:
            return
    raise AssertionError("the work did not settle")


def event_names() -> list[str]:
    return list(Event.objects.order_by("created_at").values_list("name", flat=True))
