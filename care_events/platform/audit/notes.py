"""What a request tells the audit trail before its row is written (care_events/platform/audit/recording.py)."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.http import HttpRequest

NOTE_ATTRIBUTE = "_audit_note"

# "app_label.model" → the paths from that model to its patient's id (field lookups; "pk" for Patient itself).
_patient_paths: dict[str, tuple[str, ...]] = {}


def register_phi(model: type[models.Model], *, patient: str | tuple[str, ...]) -> None:
    """`model` holds PHI and belongs to the patient reached by the lookup `patient` (e.g. "episode__patient_id"),
    or by several (each one not null counts: a notification to a patient, or about a patient's task)."""
    _patient_paths[model._meta.label_lower] = (patient,) if isinstance(patient, str) else patient


def patient_paths(model: type[models.Model]) -> tuple[str, ...] | None:
    return _patient_paths.get(model._meta.label_lower)


@dataclass
class AuditNote:
    action: str | None = None
    model: type[models.Model] | None = None
    object_ids: list[Any] = field(default_factory=list)
    patient_ids: set[uuid.UUID] = field(default_factory=set)
    detail: dict[str, Any] = field(default_factory=dict)


def note(
    request: Any,
    *,
    action: str | None = None,
    objects: Iterable[models.Model] = (),
    model: type[models.Model] | None = None,
    ids: Iterable[Any] = (),
    patient_ids: Iterable[uuid.UUID] = (),
    detail: dict[str, Any] | None = None,
) -> None:
    """Tell the audit trail what this request did: `objects` it returned or changed (or their `model` and `ids`),
    the `patient_ids` they belong to when the model cannot say, the `action` when the default (from the
    method) is not right, and `detail` (ids and names only, never a value). Called again, it adds to what was noted.
    `request` is Django's or DRF's."""
    found = request_note(request, create=True)
    assert found is not None
    if action is not None:
        found.action = action
    objects = list(objects)
    if objects:
        model = type(objects[0])
        ids = [obj.pk for obj in objects]
    if model is not None:
        found.model = model
    found.object_ids.extend(ids)
    found.detail.update(detail or {})
    found.patient_ids.update(uuid.UUID(str(pid)) for pid in patient_ids if pid is not None)


def request_note(request: Any, *, create: bool = False) -> AuditNote | None:
    http_request: HttpRequest = getattr(request, "_request", request)  # DRF's Request wraps Django's
    found = getattr(http_request, NOTE_ATTRIBUTE, None)
    if found is None and create:
        found = AuditNote()
        setattr(http_request, NOTE_ATTRIBUTE, found)
    return found
