"""The chaos suite's faults: each an (inject, undo) pair run a third of the way into the stream, and the scenarios
that name them."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from bench.lab import stop_process_group
from chaos.lab import Lab

# Twilio failing for 30 minutes, shortened by this factor (30 s) with every delay of the send path as configured.
TWILIO_SCALE = 60


# A fault: (inject, undo) run a third of the way into the stream; the window between them is `hold` seconds.


@dataclass(frozen=True)
class Fault:
    description: str
    inject: Callable[[Lab], None]
    undo: Callable[[Lab], None]
    hold: float = 5.0
    # (fraction of `hold`, what happens then): a fault that changes on the way (Twilio's 429s becoming 500s).
    steps: tuple[tuple[float, Callable[[Lab], None]], ...] = ()
    # The product in a network namespace of its own (chaos/lab.py), for a fault of its network.
    isolated: bool = False


def _kill_workers(lab: Lab) -> None:
    lab.stack.kill_workers()


def _start_workers(lab: Lab) -> None:
    lab.stack.start_workers(count=2, concurrency=2)


def _nothing(lab: Lab) -> None:
    pass


def _flushall(lab: Lab) -> None:
    lab.servers.redis_flushall()


def _redis_down_empty(lab: Lab) -> None:
    lab.servers.redis_stop(keep=False)


def _redis_down(lab: Lab) -> None:
    lab.servers.redis_stop(keep=True)


def _redis_up(lab: Lab) -> None:
    lab.servers.up()


def _postgres_down(lab: Lab) -> None:
    lab.servers.postgres_stop()


def _postgres_up(lab: Lab) -> None:
    lab.servers.up()


def _deliver_twice(lab: Lab) -> None:
    """Every handler run, timer and notification published twice more, as a redelivery or a relay racing the
    fast path would."""
    from bench.app import app
    from care_events.platform.bus.models import HandlerRun, Timer
    from notifications.models import NotificationLog

    for _ in range(2):
        for run_id, queue in HandlerRun.objects.values_list("pk", "queue"):
            app.send_task("bus.handler_run", args=[run_id], queue=queue)
        for timer_id in Timer.objects.values_list("pk", flat=True):
            app.send_task("bus.timer_fire", args=[timer_id], queue="urgent")
        for log_id in NotificationLog.objects.values_list("pk", flat=True):
            app.send_task("notifications.deliver", args=[str(log_id)], queue="urgent")


def _second_beat(lab: Lab) -> None:
    first = lab.stack.beat
    lab.extra_beat = lab.stack.start_beat("beat2")
    lab.stack.beat = first  # the stack stops the first; the second is stopped when the fault is undone


def _stop_second_beat(lab: Lab) -> None:
    if lab.extra_beat is not None:
        stop_process_group(lab.extra_beat, timeout=20)
        lab.extra_beat = None


def _poison(lab: Lab) -> None:
    from django.db import transaction

    from care_events.platform.bus.dispatch import emit
    from chaos.poison import POISON_EVENT

    with transaction.atomic():
        for _ in range(3):
            emit(POISON_EVENT, {"interaction_id": str(uuid.uuid4()), "message_id": str(uuid.uuid4())})


def _twilio_failing(lab: Lab) -> None:
    lab.stack.twilio.fail_always(status=429, code=20429, retry_after=1)


def twilio_500(lab: Lab) -> None:
    lab.stack.twilio.fail_always(status=500, code=20500)


def _twilio_recovers(lab: Lab) -> None:
    lab.stack.twilio.fail_always(None)


def _twilio_429_retry_after(lab: Lab) -> None:
    # The "Retry-After: 20" scaled by 1/TWILIO_SCALE, rounded up to the header's whole second.
    lab.stack.twilio.fail_always(status=429, code=20429, retry_after=1)


def _nurses_resolve_half(lab: Lab) -> None:
    """Nurses act on every other open task while its alert may still wait for the provider: an alert about a task
    resolved before it left must never leave (counted as `alerts_after_resolution`)."""
    from tasks_app.models import EscalationTask
    from tasks_app.services.tasks import task_resolve

    open_tasks = EscalationTask.objects.exclude(status__in=["RESOLVED", "CANCELLED"]).order_by("created_at")
    for task in list(open_tasks)[::2]:
        task_resolve(task=task, resolution="Called the patient; advice given.")


def _black_hole_postgres(lab: Lab) -> None:
    lab.netns.black_hole(lab.pg_port)


def _postgres_reachable(lab: Lab) -> None:
    lab.netns.restore()


SCENARIOS: dict[str, Fault] = {
    "kill_worker": Fault("kill -9 of both workers (main process and pool), restarted 3 s later", _kill_workers,
                         _start_workers, hold=3),
    "redis_flushall": Fault("Redis FLUSHALL (queues, unacked and ETA messages, Beat's marks)", _flushall, _nothing,
                            hold=0),
    "redis_restart_empty": Fault("Redis shut down and restarted 3 s later with nothing kept (AOF deleted)",
                                 _redis_down_empty, _redis_up, hold=3),
    "broker_down": Fault("the broker unreachable for 10 s while the API commits", _redis_down, _redis_up, hold=10),
    "postgres_restart": Fault("PostgreSQL stopped (fast shutdown) and started again 5 s later", _postgres_down,
                              _postgres_up, hold=5),
    "duplicate_delivery": Fault("every run, timer and notification message published twice more", _deliver_twice,
                                _nothing, hold=0),
    "two_beats": Fault("a second Beat process for 15 s", _second_beat, _stop_second_beat, hold=15),
    "poison": Fault("3 events whose handler always raises", _poison, _nothing, hold=0),
    "twilio_errors": Fault(f"Twilio answers 429 then 500 (30 min scaled by 1/{TWILIO_SCALE}: 15 s each), then "
                           "recovers", _twilio_failing, _twilio_recovers, hold=30 * 60 / TWILIO_SCALE,
                           steps=((0.5, twilio_500),)),
    # The provider outage of issue 23, time-compressed: 3 minutes of 429 with Retry-After, 27 of 500, nurses
    # resolving tasks meanwhile; counted: lost, sent twice, alerts about resolved tasks, warnings after breach.
    "twilio_outage": Fault(f"Twilio down for 30 min scaled by 1/{TWILIO_SCALE}: 429 with Retry-After for the first "
                           "tenth, then 500; half the open tasks resolved halfway", _twilio_429_retry_after,
                           _twilio_recovers, hold=30 * 60 / TWILIO_SCALE,
                           steps=((0.1, twilio_500), (0.5, _nurses_resolve_half))),
    "postgres_black_hole": Fault("PostgreSQL out of reach without refusing (every packet dropped) for 45 s, for the "
                                 "web, the workers and Beat", _black_hole_postgres, _postgres_reachable, hold=45,
                                 isolated=True),
}  # fmt: skip
