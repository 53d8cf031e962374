"""Episodes: a hospital stay, and its discharge (the one writer of `Episode.discharged_at`)."""

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from care_events.models import (
    Episode,
    Patient,
)
from care_events.platform.bus.catalogue import external_event_names
from care_events.platform.bus.dispatch import Actor, UnknownEventError, actor_id, emit, payload_read
from care_events.platform.bus.models import Event, TimerKind
from care_events.platform.bus.timers import timers_cancel

logger = logging.getLogger(__name__)


def episode_create(
    *, patient: Patient, admitted_at: dt.datetime, condition: str, facility: str, visit_number: str = ""
) -> Episode:
    """An episode starts admitted; its discharge is recorded by `episode_discharge`, which emits the event."""
    episode = Episode(
        patient=patient, admitted_at=admitted_at, condition=condition, facility=facility, visit_number=visit_number
    )
    episode.full_clean(exclude=["patient"], validate_constraints=False)
    episode.save()
    return episode


@transaction.atomic
def episode_discharge(
    *, episode: Episode, discharged_at: dt.datetime | None = None, disposition: str = "", actor: Actor = None
) -> Event:
    """Record the discharge and emit `patient/discharged`, whose handler schedules the check-in. The one writer of
    `Episode.discharged_at`: a repeated discharge keeps the first time and returns the first event. A discharge
    after a cancelled one (`episode_discharge_cancel`) is a new discharge: its own event, its own check-in."""
    episode = Episode.objects.select_for_update().get(pk=episode.pk)
    if episode.cancelled_at is not None:
        raise ValidationError({"episode": "This admission was cancelled; it cannot be discharged."})
    if episode.discharged_at is None:
        discharged_at = discharged_at or timezone.now()
        if discharged_at < episode.admitted_at:
            raise ValidationError({"discharged_at": "The discharge cannot be before the admission."})
        episode.discharged_at, episode.discharge_disposition = discharged_at, disposition
        episode.save(update_fields=["discharged_at", "discharge_disposition", "updated_at"])
    return emit(
        "patient/discharged",
        {"episode_id": episode.pk},
        # Once per discharge: the first one's key is the episode; one after a cancellation names that cancellation.
        once_for=(episode.pk,)
        if episode.discharge_cancelled_at is None
        else (episode.pk, episode.discharge_cancelled_at),
        actor=actor_id(actor),
    )


@transaction.atomic
def episode_discharge_cancel(*, episode: Episode) -> bool:
    """The hospital cancelled the discharge (HL7 A13: the patient stays): the episode is open again and its check-in,
    if not yet due, is cancelled (a state change of the timer row: it will not fire). Returns whether it changed.
    A check-in already sent stays sent: the patient has been texted. The patient's real discharge, later, is a new
    one (`episode_discharge`): a check-in follows it."""
    episode = Episode.objects.select_for_update().get(pk=episode.pk)
    if episode.discharged_at is None:
        return False
    episode.discharged_at, episode.discharge_disposition = None, ""
    episode.discharge_cancelled_at = timezone.now()
    episode.save(update_fields=["discharged_at", "discharge_disposition", "discharge_cancelled_at", "updated_at"])
    # The discharge's handler may not have run yet: then checkin_schedule finds the episode open and schedules
    # nothing (both lock the episode).
    timers_cancel(subject_id=episode.pk, kinds=[TimerKind.CHECKIN_DUE])
    logger.info("episode %s discharge cancelled", episode.pk)
    return True


@transaction.atomic
def episode_cancel(*, episode: Episode) -> bool:
    """The admission was entered in error (HL7 A11). Only an episode without a discharge is cancelled; the row stays
    (an episode is never deleted), marked. Returns whether it changed."""
    episode = Episode.objects.select_for_update().get(pk=episode.pk)
    if episode.discharged_at is not None:
        raise ValidationError({"episode": "A discharged episode cannot be cancelled; cancel its discharge first."})
    if episode.cancelled_at is not None:
        return False
    episode.cancelled_at = timezone.now()
    episode.save(update_fields=["cancelled_at", "updated_at"])
    # An earlier stay this admission had marked readmitted is not any more.
    Episode.objects.filter(readmission=episode).update(readmission=None, updated_at=timezone.now())
    logger.info("episode %s cancelled", episode.pk)
    return True


def episode_readmission_mark(*, episode: Episode) -> Episode | None:
    """A new admission: the patient's latest earlier stay discharged less than READMISSION_WINDOW_DAYS before it
    is marked readmitted (by this episode). Returns that earlier episode, if any."""
    window_start = episode.admitted_at - dt.timedelta(days=settings.READMISSION_WINDOW_DAYS)
    earlier = (
        Episode.objects.select_for_update()
        .filter(
            patient_id=episode.patient_id,
            cancelled_at=None,
            readmission=None,
            discharged_at__gte=window_start,
            discharged_at__lte=episode.admitted_at,
        )
        .exclude(pk=episode.pk)
        .order_by("-discharged_at")
        .first()
    )
    if earlier is not None:
        earlier.readmission = episode
        earlier.save(update_fields=["readmission", "updated_at"])
        logger.info("episode %s readmitted as %s", earlier.pk, episode.pk)
    return earlier


def external_event_receive(*, name: str, data: dict[str, Any], actor: Actor = None) -> Event:
    """An event sent by an outside caller (`POST /api/v1/events/`, which lets through only the catalogue's external
    events). Today that is `patient/discharged` alone: it is recorded by `episode_discharge`, as a discharge through
    its own endpoint is, so one code path writes `Episode.discharged_at` and a repeated event is accepted once."""
    if name != "patient/discharged":
        # 400 naming the field, listing what a caller may send (the endpoint has refused the system's own events).
        raise UnknownEventError(name, allowed=external_event_names())
    payload = payload_read(name, data)  # 400 naming the field, before anything is written
    return episode_discharge(episode=Episode.objects.get(pk=payload["episode_id"]), actor=actor)
