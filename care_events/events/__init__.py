from care_events.events.bus import (
    EventPayloadError,
    UnknownEventError,
    emit,
    emit_many,
    subscribe,
)
from care_events.events.catalogue import CATALOGUE, DEFAULT, URGENT

__all__ = [
    "CATALOGUE",
    "DEFAULT",
    "URGENT",
    "EventPayloadError",
    "UnknownEventError",
    "emit",
    "emit_many",
    "subscribe",
]
