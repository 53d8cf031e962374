"""Durable timers: rows with due_at / published_at / fired_at / cancelled_at / failed_at.

Fast path: a Celery message, with `countdown` for a delay relative to something that happened (the check-in, 24 h
after the discharge) or `eta` for an absolute deadline (an SLA stage), published only once the timer is due within
TIMER_HORIZON_SECONDS: at scheduling (when its transaction commits) if it is that close already, otherwise by the
horizon job (`timers_publish_horizon`, Beat), which marks the rows published in the same claim that takes them. So a
worker holds at most one horizon of ETA messages, whatever the number of open tasks, and the broker's
visibility_timeout only has to outlast the horizon.
Backstop: the Beat sweep fires every due timer the fast path missed (Redis lost the message, a worker died holding
it). Either path fires through `timer_fire`, which claims the row only while it is unfired and uncancelled and runs
the kind's handler in the same transaction, so a timer fires exactly once whichever path gets there first.
Cancelling is a state change, never `revoke()`. docs/architecture.md#durability.
"""

import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from care_events.platform.bus.catalogue import DEFAULT
from care_events.platform.bus.insert import insert_once
from care_events.platform.bus.models import Timer, TimerKind
from care_events.platform.bus.publish import publish
from care_events.platform.bus.retry import TIMERS, claim, failure_record, relay_take, within_horizon
from care_events.platform.sql import prepared_cursor

logger = logging.getLogger(__name__)

# What runs when a timer fires: the timer's subject (a task, an episode, an attempt) and when it was due.
TimerFunc = Callable[[uuid.UUID, dt.datetime], None]


@dataclass(frozen=True)
class TimerHandler:
    func: TimerFunc
    queue: str
    countdown: bool


_timer_handlers: dict[str, TimerHandler] = {}


def timer_handler(
    kind: TimerKind, *, queue: str = DEFAULT, countdown: bool = False
) -> Callable[[TimerFunc], TimerFunc]:
    """Register `func(subject_id, due_at)` to run, inside the firing transaction, when a timer of `kind` fires.

    `countdown`: publish the fast path as a delay from now rather than as an absolute ETA. Celery turns both into
    the same message; the flag says which the timer means, and the row's due_at is what counts either way.
    """

    def register(func: TimerFunc) -> TimerFunc:
        if kind in _timer_handlers:
            raise ValueError(f"Timer kind {kind!r} has a handler already.")
        _timer_handlers[kind] = TimerHandler(func=func, queue=queue, countdown=countdown)
        return func

    return register


def timer_schedule(*, kind: TimerKind, subject_id: uuid.UUID, due_at: dt.datetime) -> Timer:
    """Create the timer (or find the one scheduled before: one per kind and subject), and publish its fast path
    after the commit if it is due within the horizon (the horizon job publishes it later otherwise)."""
    publish = within_horizon(due_at)
    timer = Timer(kind=kind, subject_id=subject_id, due_at=due_at, published_at=timezone.now() if publish else None)
    if not insert_once(timer, key=("kind", "subject_id")):
        return Timer.objects.order_by().get(kind=kind, subject_id=subject_id)
    if publish:
        _publish(timer.pk, timer.kind, timer.due_at)
    return timer


def timer_reschedule(*, kind: TimerKind, subject_id: uuid.UUID, due_at: dt.datetime) -> None:
    """Move the timer that is firing now to a later time (for example out of a patient's quiet hours)."""
    timer = Timer.objects.get(kind=kind, subject_id=subject_id)
    publish = within_horizon(due_at)
    timer.fired_at, timer.due_at, timer.published_at = None, due_at, timezone.now() if publish else None
    timer.save(update_fields=["fired_at", "due_at", "published_at"])
    if publish:
        _publish(timer.pk, timer.kind, timer.due_at)


def timers_restart(*, subject_id: uuid.UUID, due: Iterable[tuple[TimerKind, dt.datetime]]) -> None:
    """Arm the subject's timers of these kinds for these times, whatever became of them before (fired, cancelled,
    given up): timers that run again for a new occasion of their subject (a task's next assignment).

    One statement for all of them: INSERT … ON CONFLICT (kind, subject_id) DO UPDATE. The upsert locks an existing
    row like an UPDATE, so a firing claim cannot interleave; a message published for an old due time finds the row
    not due (or, once fired, not pending) and does nothing."""
    now = timezone.now()
    rows = [(kind, due_at, now if within_horizon(due_at) else None) for kind, due_at in due]
    if not rows:
        return
    values = ", ".join(["(%s, %s, %s, NULL, NULL, NULL, %s, 0, '', %s)"] * len(rows))
    params: list[Any] = []
    for kind, due_at, published_at in rows:
        params += [kind, subject_id, due_at, published_at, now]
    with prepared_cursor() as cursor:
        cursor.execute(
            # The model's own table and columns; every value is a parameter.
            f"INSERT INTO {Timer._meta.db_table} (kind, subject_id, due_at, fired_at, cancelled_at, failed_at, "  # noqa: S608
            f"published_at, attempts, last_error, created_at) VALUES {values} "
            "ON CONFLICT (kind, subject_id) DO UPDATE SET due_at = EXCLUDED.due_at, fired_at = NULL, "
            "cancelled_at = NULL, failed_at = NULL, published_at = EXCLUDED.published_at, attempts = 0, "
            "last_error = '' RETURNING id, kind, due_at, published_at",
            params,
        )
        armed = cursor.fetchall()
    for timer_id, kind, due_at, published_at in armed:
        if published_at is not None:
            _publish(timer_id, kind, due_at)


# Written once as SQL (as timers_restart's upsert): an assignment cancels the timers of a severity nobody chases,
# and the ORM's compile of the UPDATE cost more than its round trip. Pending: TimerQuerySet.pending().
_CANCEL = (
    f"UPDATE {Timer._meta.db_table} SET cancelled_at = %(now)s WHERE subject_id = %(subject)s"  # noqa: S608
    " AND kind = ANY(%(kinds)s) AND fired_at IS NULL AND cancelled_at IS NULL AND failed_at IS NULL"
)


def timers_cancel(*, subject_id: uuid.UUID, kinds: Iterable[TimerKind]) -> int:
    """Cancel the subject's pending timers of these kinds; the number cancelled."""
    with prepared_cursor() as cursor:
        cursor.execute(_CANCEL, {"now": timezone.now(), "subject": subject_id, "kinds": [str(k) for k in kinds]})
        return cursor.rowcount


@transaction.atomic
def timers_rearm(*, timer_ids: list[int]) -> int:
    """Give failed timers fresh attempts, due now (the admin's re-arm action)."""
    timers = list(Timer.objects.filter(pk__in=timer_ids).exclude(failed_at=None))
    for timer in timers:
        timer.failed_at, timer.attempts, timer.due_at = None, 0, timezone.now()
        timer.published_at = timer.due_at
        timer.save(update_fields=["failed_at", "attempts", "due_at", "published_at"])
        _publish(timer.pk, timer.kind, timer.due_at)
    return len(timers)


def timers_publish_horizon(*, limit: int = 500) -> int:
    """The horizon job: publish the fast path of every pending timer that has come within TIMER_HORIZON_SECONDS,
    soonest first, in batches of `limit`. Each batch is taken and marked published in one claim (SKIP LOCKED), so
    two jobs running at once (two Beats, a late run overlapping the next) never publish one timer twice. A publish
    that fails leaves the timer to the sweep, like a message Redis lost."""
    published = 0
    while True:
        now = timezone.now()
        entering = Timer.objects.pending().filter(
            published_at=None, due_at__lte=now + dt.timedelta(seconds=settings.TIMER_HORIZON_SECONDS)
        )
        batch = relay_take(
            entering, fields=("kind", "due_at"), order_by="due_at", mark={"published_at": now}, limit=limit
        )
        for timer_id, kind, due_at in batch:
            _publish(timer_id, kind, due_at, after_commit=False)
        published += len(batch)
        if len(batch) < limit:
            break
    if published:
        logger.info("horizon: published %d timers", published)
    return published


def _publish(timer_id: int, kind: str, due_at: dt.datetime, *, after_commit: bool = True) -> None:
    """The timer's fast path, after the commit unless its row is committed already (the horizon job's). A publish
    that fails leaves the timer to the sweep, like a message Redis lost."""
    from care_events.platform.bus.tasks import timer_fire_task

    handler = _timer_handlers[kind]
    when = {"countdown": max(0.0, (due_at - timezone.now()).total_seconds())} if handler.countdown else {"eta": due_at}
    # Flower and the worker's log name the message after the timer's kind ("timer:SLA_BREACH"); the argument stays
    # the timer's id.
    publish(
        timer_fire_task, args=[timer_id], queue=handler.queue, shadow=f"timer:{kind}", after_commit=after_commit, **when
    )


class TimerFailedError(Exception):
    """A timer's handler failed: recorded on the row, and pushed back for the sweep or given up."""


def timer_fire(*, timer_id: int) -> bool:
    """Fire one timer if it is due and still pending. Returns whether this call fired it."""
    try:
        with transaction.atomic():
            # The ETA message and the sweep may reach the same timer at once: the loser skips it, and the pending
            # conditions make any later attempt a no-op.
            timer = claim(Timer.objects.pending().filter(pk=timer_id, due_at__lte=timezone.now()))
            if timer is None:
                return False
            timer.fired_at = timezone.now()
            timer.attempts += 1
            timer.save(update_fields=["fired_at", "attempts"])
            _timer_handlers[timer.kind].func(timer.subject_id, timer.due_at)
    except Exception as exc:
        _record_failure(timer_id, exc)
        # The class name only, `from None`: the exception text can quote row values; admin shows it on the row.
        raise TimerFailedError(f"timer {timer_id} failed: {type(exc).__name__}") from None
    logger.info("timer %s %s fired", timer.kind, timer.pk)
    return True


def _record_failure(timer_id: int, exc: Exception) -> None:
    """Pushed back by TIMERS for the sweep, or given up: listed in admin (Timers, failed), where "Re-arm" gives it
    fresh attempts."""
    with transaction.atomic():
        timer = Timer.objects.select_for_update().get(pk=timer_id)
        attempts = timer.attempts + 1
        failure_record(
            timer,
            exc=exc,
            policy=TIMERS,
            attempts=attempts,
            due_field="due_at",
            final={"failed_at": timezone.now()},
        )
    logger.error("timer %s (%s) failed: %s, attempt %d", timer_id, timer.kind, type(exc).__name__, attempts)


def timers_fire_due(*, limit: int = 500) -> int:
    """The sweep: fire every due timer, oldest first, `limit` at a time, until none is left due. The timers that came
    due while a batch fired are fired too, rather than left a whole interval more: after a wiped broker every due
    timer is the sweep's, and a batch of hundreds takes seconds. At most one SWEEP_INTERVAL_SECONDS, so that a
    sweep never runs into the next; a round that fires nothing ends it (the rest are held by another process, which
    fires them, or failed and pushed back). Safe to run in several processes at once."""
    fired = 0
    deadline = time.monotonic() + settings.SWEEP_INTERVAL_SECONDS
    while time.monotonic() < deadline:
        due = list(
            Timer.objects.pending()
            .filter(due_at__lte=timezone.now())
            .order_by("due_at")
            .values_list("pk", flat=True)[:limit]
        )
        fired_now = 0
        for timer_id in due:
            # One bad timer must not stop the rest: timer_fire records the error on the row and logs it.
            with contextlib.suppress(TimerFailedError):
                fired_now += timer_fire(timer_id=timer_id)
        fired += fired_now
        if not fired_now:
            break
    if fired:
        logger.warning("sweep fired %d timers the fast path had not", fired)
    return fired
