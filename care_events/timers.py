"""Durable timers: rows with due_at / fired_at / cancelled_at.

Fast path: a Celery message with eta=due_at (or a countdown) published when the timer's transaction commits.
Backstop: the Beat sweep, every 30 s, fires every due timer the fast path missed (Redis lost the message, a
worker died holding it). Either path fires through `timer_fire`, which claims the row with SKIP LOCKED and
only if it is still unfired and uncancelled, and runs the kind's handler in the same transaction, so a timer
fires exactly once whichever path gets there first. Cancelling is a state change, never `revoke()`.
"""

import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable

from django.db import transaction
from django.utils import timezone

from care_events.events.catalogue import DEFAULT, URGENT
from care_events.models import Timer, TimerKind
from care_events.retry import backoff_seconds

logger = logging.getLogger(__name__)

# Check-in timers are relative to the discharge ("24 h later"), SLA stages are absolute deadlines; Celery turns
# both into the same ETA message, and the row's due_at is what counts either way.
COUNTDOWN_KINDS = (TimerKind.CHECKIN_DUE, TimerKind.CHECKIN_NO_ANSWER)

_timer_handlers: dict[str, Callable[[Timer], None]] = {}


def timer_handler(kind: str) -> Callable:
    """Register the function that runs when a timer of `kind` fires (inside the firing transaction)."""

    def register(func: Callable[[Timer], None]) -> Callable[[Timer], None]:
        if kind in _timer_handlers:
            raise ValueError(f"Timer kind {kind!r} has a handler already.")
        _timer_handlers[kind] = func
        return func

    return register


def timer_schedule(*, kind: TimerKind, subject_id: uuid.UUID, due_at: dt.datetime) -> Timer:
    """Create the timer (or find the one scheduled before: one per kind and subject) and arm the fast path."""
    timer, created = Timer.objects.get_or_create(kind=kind, subject_id=subject_id, defaults={"due_at": due_at})
    if created:
        _arm(timer)
    return timer


def timer_reschedule(*, timer: Timer, due_at: dt.datetime) -> None:
    """Move a timer that is firing now to a later time (for example out of a patient's quiet hours)."""
    timer.fired_at, timer.due_at = None, due_at
    timer.save(update_fields=["fired_at", "due_at"])
    _arm(timer)


def timers_cancel(*, subject_id: uuid.UUID, kinds: Iterable[TimerKind]) -> int:
    return Timer.objects.filter(subject_id=subject_id, kind__in=list(kinds), fired_at=None, cancelled_at=None).update(
        cancelled_at=timezone.now()
    )


def _arm(timer: Timer) -> None:
    from care_events.tasks import timer_fire_task

    timer_id, due_at = timer.pk, timer.due_at
    queue = URGENT if timer.kind == TimerKind.SLA_BREACH else DEFAULT

    def publish() -> None:
        try:
            if timer.kind in COUNTDOWN_KINDS:
                countdown = max(0.0, (due_at - timezone.now()).total_seconds())
                timer_fire_task.apply_async(args=[timer_id], countdown=countdown, queue=queue)
            else:
                timer_fire_task.apply_async(args=[timer_id], eta=due_at, queue=queue)
        except Exception:
            logger.warning("could not publish timer %s; the sweep will fire it", timer_id, exc_info=True)

    transaction.on_commit(publish)


class TimerFailedError(Exception):
    """A timer's handler failed: recorded on the row and pushed back for the sweep."""


def timer_fire(*, timer_id: int) -> bool:
    """Fire one timer if it is due, unfired and uncancelled. Returns whether this call fired it."""
    try:
        with transaction.atomic():
            # SKIP LOCKED: the ETA message and the sweep may reach the same timer at once; the loser skips it,
            # and the fired_at / cancelled_at conditions make any later attempt a no-op.
            timer = (
                Timer.objects.select_for_update(skip_locked=True)
                .filter(pk=timer_id, fired_at=None, cancelled_at=None, due_at__lte=timezone.now())
                .first()
            )
            if timer is None:
                return False
            timer.fired_at = timezone.now()
            timer.attempts += 1
            timer.save(update_fields=["fired_at", "attempts"])
            _timer_handlers[timer.kind](timer)
    except Exception as exc:
        _record_failure(timer_id, exc)
        # The class name only, `from None`: the exception text can quote row values; admin shows it on the row.
        raise TimerFailedError(f"timer {timer_id} failed: {type(exc).__name__}") from None
    logger.info("timer %s %s fired", timer.kind, timer.pk)
    return True


def _record_failure(timer_id: int, exc: Exception) -> None:
    timer = Timer.objects.get(pk=timer_id)
    timer.attempts += 1
    timer.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    # Pushed back, never dropped: the sweep tries again later, and admin shows the error meanwhile.
    timer.due_at = timezone.now() + dt.timedelta(seconds=backoff_seconds(timer.attempts))
    timer.save(update_fields=["attempts", "last_error", "due_at"])
    logger.error("timer %s (%s) failed: %s, attempt %d", timer_id, timer.kind, type(exc).__name__, timer.attempts)


def timers_fire_due(*, limit: int = 500) -> int:
    """The sweep: fire every due timer. Safe to run in several processes at once."""
    due = list(
        Timer.objects.filter(fired_at=None, cancelled_at=None, due_at__lte=timezone.now())
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    fired = 0
    for timer_id in due:
        # One bad timer must not stop the rest: timer_fire records the error on the row and logs it.
        with contextlib.suppress(TimerFailedError):
            fired += timer_fire(timer_id=timer_id)
    if fired:
        logger.warning("sweep fired %d timers the fast path had not", fired)
    return fired
