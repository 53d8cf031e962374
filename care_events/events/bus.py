"""emit(), the handler registry, and running one (event, handler) pair exactly once.

Events are rows first: `emit` validates the payload, writes the Event and one HandlerRun per subscribed handler
in the caller's transaction, and enqueues the runs only after that transaction commits. A run whose message is
lost (Redis flushed, broker down at commit, worker killed) stays PENDING in PostgreSQL, and the Beat relay
enqueues it again. Running claims the row with SELECT ... FOR UPDATE SKIP LOCKED and commits the handler's writes
together with the run's SUCCEEDED status, so a redelivered or duplicated message finds nothing to do.
"""

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from care_events.events.catalogue import CATALOGUE, DEFAULT
from care_events.models import Event, HandlerRun
from care_events.retry import backoff_seconds

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


class UnknownEventError(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"Unknown event name {name!r}. Allowed: {', '.join(sorted(CATALOGUE))}.")


class EventPayloadError(ValueError):
    """The payload does not match the event's schema; `errors` maps each bad field to its messages."""

    def __init__(self, name: str, errors: dict) -> None:
        self.name, self.errors = name, errors
        fields = ", ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in errors.items())
        super().__init__(f"Invalid payload for {name}: {fields}")


@dataclass(frozen=True)
class Handler:
    name: str
    event_name: str
    func: Callable[[Event], None]
    queue: str


_handlers: dict[str, Handler] = {}


def subscribe(event_name: str, *, name: str, queue: str = DEFAULT) -> Callable:
    """Register `func(event)` to run once for every `event_name` event (an Inngest function's trigger).

    `name` is stored in run rows: keep it stable once events have been emitted.
    """
    if event_name not in CATALOGUE:
        raise UnknownEventError(event_name)

    def register(func: Callable[[Event], None]) -> Callable[[Event], None]:
        if name in _handlers:
            raise ValueError(f"Handler name {name!r} is registered twice.")
        _handlers[name] = Handler(name=name, event_name=event_name, func=func, queue=queue)
        return func

    return register


def handlers_for(event_name: str) -> list[Handler]:
    return [handler for handler in _handlers.values() if handler.event_name == event_name]


def validate_payload(name: str, data: dict) -> dict:
    event_type = CATALOGUE.get(name)
    if event_type is None:
        raise UnknownEventError(name)
    if not isinstance(data, dict):
        raise EventPayloadError(name, {"data": ["Must be a JSON object."]})
    serializer = event_type.payload(data=data)
    if not serializer.is_valid():
        raise EventPayloadError(name, serializer.errors)
    # UUIDs and datetimes become strings: the row stores exactly what a JSON Celery message could carry.
    return json.loads(json.dumps(serializer.validated_data, cls=DjangoJSONEncoder))


def emit(name: str, data: dict, *, idempotency_key: str | None = None) -> Event:
    """Record an event in the caller's transaction; its handlers are enqueued once that transaction commits.

    A repeated idempotency key returns the first event and dispatches nothing again.
    """
    payload = validate_payload(name, data)
    with transaction.atomic():
        if idempotency_key is not None:
            existing = Event.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing
        try:
            # A savepoint: two concurrent emits with one key meet at the unique index, and the loser reads the
            # winner's row instead of failing the caller's whole transaction.
            with transaction.atomic():
                event = Event.objects.create(name=name, data=payload, idempotency_key=idempotency_key)
        except IntegrityError:
            return Event.objects.get(idempotency_key=idempotency_key)
        runs = HandlerRun.objects.bulk_create(
            HandlerRun(event=event, handler=handler.name, queue=handler.queue) for handler in handlers_for(name)
        )
    logger.info("event %s %s recorded with %d handler runs", name, event.pk, len(runs))
    run_ids = [(run.pk, run.queue) for run in runs]
    transaction.on_commit(lambda: enqueue_runs(run_ids))
    return event


def emit_many(events: list[tuple[str, dict, str | None]]) -> list[Event]:
    """Emit several events atomically: an invalid payload among them writes none of them."""
    with transaction.atomic():
        return [emit(name, data, idempotency_key=key) for name, data, key in events]


def enqueue_runs(runs: list[tuple[int, str]]) -> None:
    """Publish one Celery message per run. A publish failure is logged, not raised: the row is already
    committed and the relay publishes it again (raising here would turn a saved request into an error)."""
    from care_events.tasks import handler_run_task

    now = timezone.now()
    for run_id, queue in runs:
        try:
            handler_run_task.apply_async(args=[run_id], queue=queue)
        except Exception:
            logger.warning("could not publish handler run %s; the relay will publish it", run_id, exc_info=True)
            continue
        HandlerRun.objects.filter(pk=run_id).update(enqueued_at=now)


class HandlerFailedError(Exception):
    def __init__(self, run_id: int, retry_in: int | None) -> None:
        self.run_id, self.retry_in = run_id, retry_in
        super().__init__(f"handler run {run_id} failed; retry in {retry_in}s" if retry_in else "gave up")


def handler_run_execute(*, run_id: int) -> bool:
    """Run one pending (event, handler) pair. Returns False when there was nothing to do.

    Raises HandlerFailedError after recording a failure (retry_in is None once attempts are exhausted).
    """
    try:
        with transaction.atomic():
            # SKIP LOCKED: a second worker holding the same message (redelivery, relay, a duplicate publish)
            # skips the row while the first runs it, and finds it SUCCEEDED afterwards.
            run = (
                # of=("self",): lock the run only; the event row is shared by the event's other handlers.
                HandlerRun.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("event")
                .filter(pk=run_id, status=HandlerRun.Status.PENDING)
                .first()
            )
            if run is None:
                return False
            handler = _handlers[run.handler]
            started = timezone.now()
            handler.func(run.event)
            HandlerRun.objects.filter(pk=run.pk).update(
                status=HandlerRun.Status.SUCCEEDED,
                attempts=run.attempts + 1,
                started_at=started,
                finished_at=timezone.now(),
                last_error="",
            )
    except Exception as exc:
        retry_in = _record_failure(run_id, exc)
        # `from None`: the exception text can quote row values (a database error's DETAIL); it is kept on the run
        # row for admin, and must not reach Celery's logs, results or Flower through a chained traceback.
        raise HandlerFailedError(run_id, retry_in) from None
    logger.info("handler %s succeeded for event %s %s", run.handler, run.event.name, run.event_id)
    return True


def _record_failure(run_id: int, exc: Exception) -> int | None:
    with transaction.atomic():
        run = HandlerRun.objects.select_for_update().get(pk=run_id)
        run.attempts += 1
        run.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        retry_in = None
        if run.attempts >= MAX_ATTEMPTS:
            run.status = HandlerRun.Status.FAILED
        else:
            retry_in = backoff_seconds(run.attempts)
            run.next_attempt_at = timezone.now() + dt.timedelta(seconds=retry_in)
        run.save(update_fields=["attempts", "last_error", "finished_at", "status", "next_attempt_at"])
    # The exception text can quote row values; the log line carries only ids and the exception class.
    logger.error("handler run %s (%s) failed: %s, attempt %d", run_id, run.handler, type(exc).__name__, run.attempts)
    return retry_in


def handler_runs_redrive(*, run_ids: list[int]) -> int:
    """Put failed runs back to PENDING with fresh attempts (the admin's re-drive action)."""
    now = timezone.now()
    count = HandlerRun.objects.filter(pk__in=run_ids, status=HandlerRun.Status.FAILED).update(
        status=HandlerRun.Status.PENDING, attempts=0, next_attempt_at=now, enqueued_at=None
    )
    redriven = list(
        HandlerRun.objects.filter(pk__in=run_ids, status=HandlerRun.Status.PENDING).values_list("pk", "queue")
    )
    transaction.on_commit(lambda: enqueue_runs(redriven))
    return count


def handler_runs_relay(*, limit: int = 500) -> int:
    """Publish again the pending runs whose message was published (or due) over a minute ago and not run."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.RELAY_GRACE_SECONDS)
    with transaction.atomic():
        runs = list(
            HandlerRun.objects.select_for_update(skip_locked=True)
            .filter(status=HandlerRun.Status.PENDING, next_attempt_at__lte=cutoff)
            .exclude(enqueued_at__gt=cutoff)
            .values_list("pk", "queue")[:limit]
        )
        # Marked while locked, so a second relay running at the same moment does not take them too.
        HandlerRun.objects.filter(pk__in=[pk for pk, _ in runs]).update(enqueued_at=timezone.now())
    if runs:
        logger.warning("relay: publishing %d pending handler runs again", len(runs))
        enqueue_runs(runs)
    return len(runs)
