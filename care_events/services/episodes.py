"""Episodes: a hospital stay, and its discharge (the one writer of `Episode.discharged_at`)."""

import datetime as dt
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from care_events.models import (
    Episode,
    Patient,
)
from care_events.platform.bus.catalogue import external_event_names
from care_events.platform.bus.dispatch import Actor, UnknownEventError, actor_id, emit, payload_read
from care_events.platform.bus.models import Event

logger = logging.getLogger(__name__)


def episode_create(*, patient: Patient, admitted_at: dt.datetime, condition: str, facility: str) -> Episode:
    """An episode starts admitted; its discharge is recorded by `episode_discharge`, which emits the event."""
    episode = Episode(patient=patient, admitted_at=admitted_at, condition=condition, facility=facility)
    episode.full_clean(exclude=["patient"])
    episode.save()
    return episode


@transaction.atomic
def episode_discharge(*, episode: Episode, discharged_at: dt.datetime | None = None, actor: Actor = None) -> Event:
    """Record the discharge and emit `patient/discharged`, whose handler schedules the check-in. The one writer of
    `Episode.discharged_at`: a repeated discharge keeps the first time and returns the first event."""
    episode = Episode.objects.select_for_update().get(pk=episode.pk)
    if episode.discharged_at is None:
        discharged_at = discharged_at or timezone.now()
        if discharged_at < episode.admitted_at:
            raise ValidationError({"discharged_at": "The discharge cannot be before the admission."})
        episode.discharged_at = discharged_at
        episode.save(update_fields=["discharged_at", "updated_at"])
    return emit(
        "patient/discharged",
        {"episode_id": episode.pk},
        once_for=(episode.pk,),
        actor=actor_id(actor),
    )


def external_event_receive(*, name: str, data: dict[str, Any], actor: Actor = None) -> Event:
    """An event sent by an outside caller (`POST /api/v1/events/`, which lets through only the catalogue's external
    events). Today that is `patient/discharged` alone: it is recorded by `episode_discharge`, as a discharge through
    its own endpoint is, so one code path writes `Episode.discharged_at` and a repeated event is accepted once."""
    if name != "patient/discharged":
        # 400 naming the field, listing what a caller may send (the endpoint has refused the system's own events).
        raise UnknownEventError(name, allowed=external_event_names())
    payload = payload_read(name, data)  # 400 naming the field, before anything is written
    return episode_discharge(episode=Episode.objects.get(pk=payload["episode_id"]), actor=actor)
