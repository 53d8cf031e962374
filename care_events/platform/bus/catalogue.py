"""The event catalogue: every event type the bus knows, each with a typed payload schema.

The bus owns the mechanism (`Payload`, `EventType`, `register`); each app declares the events whose messages it
owns in its `events.py` (care_events: discharges, check-ins, interactions; tasks_app: tasks; notifications:
notifications), imported by its `AppConfig.ready()`, so the platform names no domain model.

Payloads carry ids and codes only (never names, phone numbers or message bodies: events ride through Celery and
show in Flower and admin). Each schema is a DRF serializer: one mechanism for every event, and its errors name
the field. `external` marks the events an outside caller (the interaction agent, an operator) may send through
`POST /api/v1/events/`; the others are emitted only by the system itself.

An event records a fact once: `emit(name, data, once_for=(ids...))` keys it by the fact's ids, and a repeat finds
the first event. The key is spelled one way, `EventType.key`: `<prefix>:<id>:<id>...` (a datetime as ISO 8601),
the prefix being the event's name, or the `key_prefix` its app declares beside it for an event whose stored keys
were written with another one (a repeat of a fact recorded then must still find its event).
"""

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

URGENT = "urgent"
DEFAULT = "default"
# The sweep, the relays and the timers' horizon job: their own queue and worker (CELERY_TASK_ROUTES).
BACKSTOP = "backstop"
# A real provider's calls (notifications.deliver): their own queue and a worker of threads, so a slow provider never
# holds the workers that assign tasks (docs/operations.md#workers-and-queues).
DELIVERY = "delivery"
# Web Push (notifications.deliver of a PUSH message): its own queue and a worker whose processes have Celery's time
# limits (a thread cannot be stopped), so a browser's push endpoint, which anyone can run, holds nothing else up.
PUSH = "push"


class Payload(serializers.Serializer):
    """Refuses keys the schema does not know, so a typo is an error rather than a silently dropped field (named
    beside the other fields' errors).

    Payloads are read through one instance of each schema (`EventType.read`), not a new serializer each time: a
    serializer deep-copies its declared fields per instance, and every event is read twice, when it is emitted and
    when its handler runs. Reading keeps no state on the instance (no `initial_data`, no `errors`), so the one
    instance serves every thread."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        unknown = {key: ["Unknown field."] for key in sorted(set(data) - set(self.fields))}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**exc.detail, **unknown}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


@dataclass(frozen=True)
class EventType:
    name: str
    payload: type[Payload]
    description: str
    external: bool = False
    key_prefix: str | None = None  # None: the name

    @functools.cached_property
    def _schema(self) -> Payload:
        return self.payload()

    def read(self, data: dict[str, Any]) -> dict[str, Any]:
        """`data` through this event's schema: its typed values, or serializers.ValidationError naming the fields."""
        return dict(self._schema.run_validation(data))

    def key(self, *ids: object) -> str:
        """The idempotency key of this event about the fact `ids` name."""
        parts = (value.isoformat() if isinstance(value, dt.datetime) else str(value) for value in ids)
        return ":".join([self.key_prefix or self.name, *parts])


CATALOGUE: dict[str, EventType] = {}


def external_event_names() -> list[str]:
    """The events an outside caller may send, by name."""
    return sorted(name for name, event in CATALOGUE.items() if event.external)


def register(*events: EventType) -> None:
    """Adds an app's events to the catalogue, once each (an app's `events` module calls it on import)."""
    for event in events:
        known = CATALOGUE.get(event.name)
        if known is not None and known != event:
            raise ValueError(f"event {event.name!r} is declared twice")
        CATALOGUE[event.name] = event
