"""emit(), the handler registry, and running one (event, handler) pair exactly once.

Events are rows first: `emit` validates the payload, writes the Event and one HandlerRun per subscribed handler in
the caller's transaction, and publishes the runs only after that transaction commits. A run whose message is lost
stays PENDING in PostgreSQL and the Beat relay publishes it again. Running claims the row
(care_events.platform.bus.retry)
and commits the handler's writes together with the run's SUCCEEDED status, so a redelivered or duplicated message
finds nothing to do. The whole model: docs/architecture.md#durability.

An inline handler (`subscribe(..., inline=True)`) has no run and no message: it runs inside `emit`, in the emitter's
transaction, so its writes commit or roll back with the event (and with the handler run that emitted it, whose
claim then covers both). For work that is a few rows more in a transaction that is open anyway (a message's log row
in the assignment that asks for it), never for a call that waits on the outside world.
"""

import contextlib
import contextvars
import datetime as dt
import functools
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from care_events.platform.bus.catalogue import CATALOGUE, DEFAULT
from care_events.platform.bus.insert import insert_once
from care_events.platform.bus.models import Event, HandlerRun
from care_events.platform.bus.publish import publish
from care_events.platform.bus.retry import HANDLER_RUNS, failure_record, relay_backoff, relay_take
from care_events.platform.errors import ApplicationError
from care_events.platform.sql import prepared_cursor

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

logger = logging.getLogger(__name__)

# A handler gets the event's payload as its schema reads it: UUIDs as uuid.UUID, numbers as int.
Payload = dict[str, Any]
HandlerFunc = Callable[[Payload], None]
# Rows the emitter holds already, by payload field ("task_id": the task), handed to inline handlers so that they do
# not read them again; a handler checks a row's id against the payload's before it trusts it.
Rows = Mapping[str, Any]

# Who acted: a user (request.user), or None for the system's own work (handlers, timers, the webhooks).
Actor = Union["AbstractBaseUser", "AnonymousUser", None]

_acting: contextvars.ContextVar[int | None] = contextvars.ContextVar("acting_user_id", default=None)


def actor_id(actor: Actor) -> int | None:
    """The id stored as an event's actor: a user's, None for nobody (or an anonymous request)."""
    return actor.pk if actor is not None and actor.is_authenticated else None


@contextlib.contextmanager
def acting(actor: Actor) -> Iterator[None]:
    """For the signal receivers that emit on a service's behalf (a save's event): they cannot be handed the actor,
    so the service saves inside `with acting(actor):` and the receiver passes `acting_user_id()` to `emit`."""
    token = _acting.set(actor_id(actor))
    try:
        yield
    finally:
        _acting.reset(token)


def acting_user_id() -> int | None:
    return _acting.get()


class UnknownEventError(ApplicationError):
    """No event has this name (400, field `name`). The message lists the names the caller may use, every event of
    the catalogue unless `allowed` says otherwise (the events API: the external ones), and never quotes the name
    given (a caller's value)."""

    code = "unknown_event"

    def __init__(self, name: str, *, allowed: Iterable[str] | None = None) -> None:
        self.name = name
        message = f"Unknown event name. Allowed: {', '.join(sorted(CATALOGUE if allowed is None else allowed))}."
        super().__init__(message, fields={"name": [message]})


class EventPayloadError(ApplicationError):
    """The payload does not match the event's schema (400, fields under `data`); `errors` maps each bad field to
    its messages."""

    def __init__(self, name: str, errors: dict[str, Any]) -> None:
        self.name, self.errors = name, errors
        fields = ", ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in errors.items())
        super().__init__(f"Invalid payload for {name}: {fields}", fields={"data": errors})


@dataclass(frozen=True)
class Handler:
    name: str
    event_name: str
    func: Callable[..., None]
    queue: str
    inline: bool = False


_handlers: dict[str, Handler] = {}


def subscribe(
    event_name: str, *, name: str, queue: str = DEFAULT, inline: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register `func(payload)` to run once for every `event_name` event (an Inngest function's trigger).

    `name` is stored in run rows and shown in Flower and admin: keep it stable once events have been emitted.

    `inline`: `func(payload, rows)` runs inside `emit`, in the emitter's transaction, with the rows the emitter
    passed (`Rows`); no HandlerRun is written and no message sent (so admin, /readyz and the metrics, which count
    runs, never see it: it succeeded exactly when the event's transaction committed). An exception in it is the
    emitter's: its transaction rolls back and is retried as a whole (a handler run's retry, a request's 500).
    """
    if event_name not in CATALOGUE:
        raise UnknownEventError(event_name)

    def register(func: Callable[..., None]) -> Callable[..., None]:
        if name in _handlers:
            raise ValueError(f"Handler name {name!r} is registered twice.")
        _handlers[name] = Handler(name=name, event_name=event_name, func=func, queue=queue, inline=inline)
        return func

    return register


def handlers_for(event_name: str) -> list[Handler]:
    return [handler for handler in _handlers.values() if handler.event_name == event_name]


def payload_read(name: str, data: Any) -> Payload:
    """`data` read through the schema of event `name`: typed values, or UnknownEventError / EventPayloadError."""
    event_type = CATALOGUE.get(name)
    if event_type is None:
        raise UnknownEventError(name)
    if not isinstance(data, dict):
        raise EventPayloadError(name, {"data": ["Must be a JSON object."]})
    try:
        return event_type.read(data)
    except ValidationError as exc:
        raise EventPayloadError(name, exc.detail) from None


def emit(
    name: str, data: Payload, *, once_for: Sequence[object] = (), actor: int | None = None, rows: Rows | None = None
) -> Event:
    """Record an event in the caller's transaction; its handlers are published once that transaction commits (its
    inline handlers run now, in it, given `rows`). `actor` is the id of the user who caused it
    (`actor_id(request.user)`; None: the system's own work).

    `once_for`: the ids of the fact the event records (an episode's discharge: the episode's id). An event about the
    same fact again returns the first event and dispatches nothing again (its key: `EventType.key`).
    """
    # UUIDs and datetimes become strings: the row stores exactly what a JSON Celery message could carry.
    payload = payload_read(name, data)
    stored = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    idempotency_key = CATALOGUE[name].key(*once_for) if once_for else None
    handlers = handlers_for(name)
    # No savepoint: inside a transaction already (a handler's, a request's) this is part of it, and a failure here
    # is the caller's; on its own, the event and its runs still commit together.
    with transaction.atomic(savepoint=False):
        event = Event(name=name, data=stored, idempotency_key=idempotency_key, actor=actor)
        # Two concurrent emits with one key meet at the unique index: the loser inserts nothing and returns the
        # winner's row (committed, or it waited for the winner's commit at the index).
        if not insert_once(event, key=("idempotency_key",)):
            return Event.objects.order_by().get(idempotency_key=idempotency_key)
        # enqueued_at is set now, with the row, rather than after the publish: a worker that takes the message the
        # instant it is published must find the row unlocked (runs_publish).
        now = timezone.now()
        queued = [handler for handler in handlers if not handler.inline]
        runs = (
            HandlerRun.objects.bulk_create(
                HandlerRun(event=event, handler=handler.name, queue=handler.queue, enqueued_at=now)
                for handler in queued
            )
            if queued
            else []
        )
        for handler in handlers:
            if handler.inline:
                handler.func(payload, rows or {})
    logger.info("event %s %s recorded with %d handler runs", name, event.pk, len(runs))
    runs_publish([(run.pk, run.handler, run.queue) for run in runs])
    return event


def emit_many(events: list[tuple[str, Payload, Sequence[object]]]) -> list[Event]:
    """Emit several events atomically, each (name, data, once_for): an invalid payload among them writes none."""
    with transaction.atomic():
        return [emit(name, data, once_for=once_for) for name, data, once_for in events]


def runs_publish(runs: list[tuple[int, str, str]], *, after_commit: bool = True) -> None:
    """Publish one Celery message per (run id, handler name, queue), once the runs are committed with their
    `enqueued_at` set (`after_commit=False`: they are, the relay's).

    Nothing writes to a run row after its message is out. A write there (this function once set `enqueued_at` after
    each publish) holds the row's lock for the length of an UPDATE, and a worker that takes the message in that
    instant finds the row locked, skips it (the claim is SKIP LOCKED) and acknowledges the message: the run then
    waits for the relay (RELAY_GRACE_SECONDS + SWEEP_INTERVAL_SECONDS, longer under a backlog). Only a publish that
    failed is written back (`enqueued_at` cleared: no message exists, so no worker can race it); the relay publishes
    it (care_events.platform.bus.publish)."""
    from care_events.platform.bus.tasks import handler_run_task

    for run_id, handler, queue in runs:
        # `shadow`: Flower and the worker's log name the message after the handler it runs ("assign-task") rather
        # than the one generic task, so an operator can read the queue; the arguments stay the id.
        publish(
            handler_run_task,
            args=[run_id],
            queue=queue,
            shadow=handler,
            after_commit=after_commit,
            on_failure=functools.partial(_unpublished, run_id),
        )


def _unpublished(run_id: int) -> None:
    HandlerRun.objects.filter(pk=run_id).update(enqueued_at=None)


class HandlerFailedError(Exception):
    def __init__(self, run_id: int, retry_in: float | None) -> None:
        self.run_id, self.retry_in = run_id, retry_in
        super().__init__(f"handler run {run_id} failed; retry in {retry_in}s" if retry_in else "gave up")


def _run_statements() -> tuple[str, str]:
    """The claim of a due run (with its event's name and data) and its success, written once as SQL rather than
    built by the ORM at every run: they are two of the few statements every escalation pays for."""
    run, event = HandlerRun._meta.db_table, Event._meta.db_table
    claim_sql = (
        f"SELECT r.handler, e.id, e.name, e.data::text FROM {run} r"  # noqa: S608 - our own names
        f" JOIN {event} e ON e.id = r.event_id"
        f" WHERE r.id = %(run)s AND r.status = %(pending)s AND r.next_attempt_at <= %(now)s"
        f" FOR UPDATE OF r SKIP LOCKED"  # SKIP LOCKED: care_events.platform.bus.retry.claim
    )
    succeeded_sql = (
        f"UPDATE {run} SET status = %(succeeded)s, attempts = attempts + 1, started_at = %(started)s,"  # noqa: S608
        f" finished_at = %(finished)s, last_error = '' WHERE id = %(run)s"
    )
    return claim_sql, succeeded_sql


_RUN_CLAIM, _RUN_SUCCEEDED = _run_statements()


def handler_run_execute(*, run_id: int) -> bool:
    """Run one pending (event, handler) pair whose attempt is due. Returns False when there was nothing to do (done,
    held by another worker, or its next attempt not due yet: that attempt's own message, or the relay, runs it).

    Raises HandlerFailedError after recording a failure (retry_in is None once attempts are exhausted).
    """
    try:
        with transaction.atomic():
            # Due, not only pending: a relay's re-publish of a run whose retry message was late, and that retry
            # message, both reach here; whichever comes second finds the next attempt not due and does nothing, so a
            # run has one retry chain and its attempts keep HANDLER_RUNS' spacing under any backlog.
            started = timezone.now()
            with prepared_cursor() as cursor:
                cursor.execute(_RUN_CLAIM, {"run": run_id, "pending": HandlerRun.Status.PENDING, "now": started})
                claimed = cursor.fetchone()
            if claimed is None:
                return False
            handler_name, event_id, event_name, event_data = claimed
            handler = _handlers[handler_name]
            payload = payload_read(event_name, json.loads(event_data))
            # A run of a handler that is inline now (written before it became so) runs once, like any.
            handler.func(payload, {}) if handler.inline else handler.func(payload)
            with prepared_cursor() as cursor:
                cursor.execute(
                    _RUN_SUCCEEDED,
                    {
                        "run": run_id,
                        "succeeded": HandlerRun.Status.SUCCEEDED,
                        "started": started,
                        "finished": timezone.now(),
                    },
                )
    except Exception as exc:
        retry_in = _record_failure(run_id, exc)
        # `from None`: the exception text can quote row values (a database error's DETAIL); it is kept on the run
        # row for admin, and must not reach Celery's logs, results or Flower through a chained traceback.
        raise HandlerFailedError(run_id, retry_in) from None
    logger.info("handler %s succeeded for event %s %s", handler_name, event_name, event_id)
    return True


def _record_failure(run_id: int, exc: Exception) -> float | None:
    with transaction.atomic():
        run = HandlerRun.objects.select_for_update().get(pk=run_id)
        attempts = run.attempts + 1
        retry_in = failure_record(
            run,
            exc=exc,
            policy=HANDLER_RUNS,
            attempts=attempts,
            final={"status": HandlerRun.Status.FAILED},
            columns={"finished_at": timezone.now()},
        )
    # The exception text can quote row values; the log line carries only ids and the exception class.
    logger.error("handler run %s (%s) failed: %s, attempt %d", run_id, run.handler, type(exc).__name__, attempts)
    return retry_in


def handler_runs_redrive(*, run_ids: list[int]) -> int:
    """Put failed runs back to PENDING with fresh attempts (the admin's re-drive action)."""
    now = timezone.now()
    count = HandlerRun.objects.filter(pk__in=run_ids, status=HandlerRun.Status.FAILED).update(
        status=HandlerRun.Status.PENDING, attempts=0, next_attempt_at=now, enqueued_at=now
    )
    redriven = list(
        HandlerRun.objects.filter(pk__in=run_ids, status=HandlerRun.Status.PENDING).values_list(
            "pk", "handler", "queue"
        )
    )
    runs_publish(redriven)
    return count


def handler_runs_relay(*, limit: int = 500) -> int:
    """Publish again the pending runs whose message was published (or due) over RELAY_GRACE_SECONDS ago and has
    not run; one still pending after that waits twice as long before the next (`relay_backoff`)."""
    now = timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.RELAY_GRACE_SECONDS)
    overdue = (
        HandlerRun.objects.filter(status=HandlerRun.Status.PENDING, next_attempt_at__lte=cutoff)
        .exclude(enqueued_at__gt=cutoff)
        .filter(relay_backoff(due="next_attempt_at", marked="enqueued_at", now=now))
    )
    runs = relay_take(
        overdue, fields=("handler", "queue"), order_by="next_attempt_at", mark={"enqueued_at": now}, limit=limit
    )
    if runs:
        logger.warning("relay: publishing %d pending handler runs again", len(runs))
        runs_publish(runs, after_commit=False)
    return len(runs)
