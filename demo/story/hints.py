"""How the demo reads the server's side from the database it shares: whether a message is out or dead, and, when a
step does not happen, why (a hint naming what to look at: the server's settings, Beat, a worker, a handler run)."""

import datetime as dt
import uuid

from django.db.models import Q

from care_events.choices import NotificationType
from care_events.platform.bus.models import Event, HandlerRun, Timer, TimerKind
from demo.story.timeline import StepFailedError
from notifications.models import NotificationLog, NotificationStatus

OUT_STATUSES = (NotificationStatus.SENT, NotificationStatus.DELIVERED, NotificationStatus.READ)
DEAD_STATUSES = (NotificationStatus.FAILED, NotificationStatus.CANCELLED)

SAME_DB_HINT = (
    "the server and this command use different databases: run the demo with the server's DATABASE_URL and settings "
    "module (scripts/run.sh started without DATABASE_URL uses its embedded PostgreSQL, "
    "postgres://postgres@127.0.0.1:${SEQUORA_PG_PORT:-64329}/sequora)"
)


def server_command(checkin_delay: float) -> str:
    """How to start the server with the compressed time the demo expects (quiet hours off)."""
    delay = max(1, round(checkin_delay))
    return (
        f"CHECKIN_DELAY={delay} CHECKIN_RESPONSE_WINDOW=600 QUIET_HOURS_START=0 QUIET_HOURS_END=0 bash scripts/run.sh"
    )


def server_env_hint(checkin_delay: float) -> str:
    return (
        f"the server must run with compressed time: start it with {server_command(checkin_delay)}, and give the "
        f"demo the same delay (--checkin-delay {max(1, round(checkin_delay))})"
    )


def out_or_raise(step: str, log: NotificationLog) -> NotificationLog | None:
    """The log once its message is out (SENT, DELIVERED or READ), None while it is pending; a dead message stops
    the story (its error code, never its text, which can quote the recipient)."""
    if log.status in DEAD_STATUSES:
        raise StepFailedError(
            step,
            f"notification {log.pk} {log.type} is {log.status} ({log.error_code or 'no error code'})",
            "see admin → Notification logs; with local settings every channel uses the local backend",
        )
    return log if log.status in OUT_STATUSES else None


def work_hint(event_name: str, **data: str) -> str:
    """What became of the handler runs of the event with this payload: pending, failed, or never recorded."""
    lookup = Q(name=event_name)
    for key, value in data.items():
        lookup &= Q(**{f"data__{key}": value})
    event = Event.objects.filter(lookup).first()
    if event is None:
        return f"no {event_name} event was recorded for it yet; are the worker and Beat running?"
    runs = list(HandlerRun.objects.filter(event=event))
    failed = [run.handler for run in runs if run.status == HandlerRun.Status.FAILED]
    if failed:
        return f"handler {', '.join(failed)} of {event_name} FAILED: see admin → Handler runs, then re-drive it"
    waiting = [run for run in runs if run.status == HandlerRun.Status.PENDING]
    if any(run.attempts for run in waiting):
        return f"{event_name}'s handler is failing and retrying: see its last error in admin → Handler runs"
    if waiting:
        return (
            f"{event_name}'s handler runs are PENDING, not taken by any worker: is a worker consuming the urgent and "
            "default queues, on the broker (REDIS_URL) the server publishes to?"
        )
    return f"{event_name} was handled; see admin → Events and Handler runs"


def timer_hint(task_id: str, kind: TimerKind) -> str:
    timer = Timer.objects.filter(subject_id=task_id, kind=kind).first()
    if timer is None:
        return "the SLA timers were never scheduled: " + work_hint("task/created", task_id=task_id)
    if timer.failed_at is not None:
        return f"the {kind} timer failed on every attempt: see admin → Timers (re-arm it)"
    if timer.fired_at is None:
        return f"the {kind} timer did not fire: is Beat running (its sweep fires due timers) and a worker with it?"
    return f"the {kind} timer fired but its message is not out: see admin → Notification logs"


def checkin_hint(episode_id: str, *, started_at: dt.datetime, checkin_delay: float) -> str:
    timer = Timer.objects.filter(kind=TimerKind.CHECKIN_DUE, subject_id=episode_id).first()
    if timer is None:
        return "the check-in was never scheduled: " + work_hint("patient/discharged", episode_id=episode_id)
    if timer.fired_at is None:
        due = (timer.due_at - started_at).total_seconds()
        return f"the server scheduled the check-in {due:.0f} s after the start (is Beat running?); " + (
            server_env_hint(checkin_delay)
        )
    return "the check-in fired but its SMS was not logged: " + work_hint(
        "notification/send", episode_id=episode_id, notification_type="CHECKIN"
    )


def assignment_hint(task_id: str) -> str:
    if NotificationLog.objects.filter(type=NotificationType.TASK_UNASSIGNED, task_id=uuid.UUID(task_id)).exists():
        return (
            "nobody on shift had room, so the supervisors were told (TASK_UNASSIGNED): check the demo nurses' "
            "shifts in admin → Nurses"
        )
    return work_hint("task/created", task_id=task_id)
