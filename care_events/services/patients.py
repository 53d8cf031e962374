"""Patients: who they are (an MRN is unique per facility) and whether they may be texted."""

import datetime as dt
import logging
import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from care_events.models import (
    PATIENT_MRN_UNIQUE,
    Patient,
)
from care_events.platform.errors import ObjectExistsError
from care_events.selectors import patients_by_mrn

logger = logging.getLogger(__name__)


class PatientExistsError(ObjectExistsError):
    """A patient with this MRN of this facility exists already (the API answers 409 with its id)."""

    def __init__(self, existing_id: uuid.UUID) -> None:
        super().__init__("A patient with this MRN and facility exists; see existing_id.", existing_id=existing_id)


@transaction.atomic
def patient_create(
    *,
    first_name: str,
    last_name: str,
    date_of_birth: dt.date,
    phone: str,
    timezone: str = "America/New_York",
    preferred_language: str = "en",
    mrn: str = "",
    facility: str = "",
) -> Patient:
    """`phone` must already be E.164 (the API normalises what it is given). An MRN comes with the facility that
    issued it; a second patient with the same pair raises PatientExistsError naming the first, also when two
    creates race (the loser's INSERT waits on the unique index for the winner's commit, then fails). A new patient
    may be texted (`sms_consent`); only the patient's STOP and START (`patient_sms_consent_set`) or staff in admin
    change that."""
    if mrn and not facility:
        raise ValidationError({"facility": "Give the facility that issued the MRN."})
    if facility and not mrn:
        raise ValidationError({"mrn": "A facility is recorded only with an MRN."})
    if mrn and (existing := patients_by_mrn(mrn=mrn, facility=facility).first()) is not None:
        raise PatientExistsError(existing.pk)
    patient = Patient(
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        phone=phone,
        timezone=timezone,
        preferred_language=preferred_language,
        mrn=mrn,
        facility=facility,
    )
    # Constraints are left to the database: Django's check of the MRN's conditional unique constraint would turn a
    # lost race into a 400 without the existing id. The other constraints are checked above or by field validators.
    patient.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable after the violation
            patient.save(force_insert=True)
    except IntegrityError as exc:
        if _violated_constraint(exc) != PATIENT_MRN_UNIQUE:
            raise
        # READ COMMITTED: this statement sees the row of the create that won.
        raise PatientExistsError(patients_by_mrn(mrn=mrn, facility=facility).get().pk) from None
    return patient


def _violated_constraint(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


@transaction.atomic
def patient_sms_consent_set(*, patient_id: uuid.UUID, consent: bool) -> bool:
    """The patient texted STOP (consent off, and when) or START (on again); Twilio's "unsubscribed recipient" error
    turns it off too. Returns whether it changed. A patient without consent is never texted (delivery checks it
    again right before each send)."""
    patient = Patient.objects.select_for_update().get(pk=patient_id)
    if patient.sms_consent == consent:
        return False
    patient.sms_consent, patient.sms_opted_out_at = consent, None if consent else timezone.now()
    patient.save(update_fields=["sms_consent", "sms_opted_out_at", "updated_at"])
    logger.info("patient %s sms consent %s", patient.pk, "on" if consent else "off")
    return True


# What the hospital's feed may change of a patient (HL7 A08, FHIR Patient): never consent, never the MRN.
DEMOGRAPHIC_FIELDS = ("first_name", "last_name", "date_of_birth", "phone", "preferred_language")


@transaction.atomic
def patient_demographics_update(*, patient: Patient, **fields: object) -> list[str]:
    """Update what is given of DEMOGRAPHIC_FIELDS (a value of None or "" is left as it is). Returns the names of
    the fields that changed."""
    unknown = set(fields) - set(DEMOGRAPHIC_FIELDS)
    if unknown:
        raise ValueError(f"not demographic fields: {sorted(unknown)}")
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    changed = [name for name, value in fields.items() if value not in (None, "") and getattr(patient, name) != value]
    for name in changed:
        setattr(patient, name, fields[name])
    if changed:
        patient.full_clean(validate_constraints=False)
        patient.save(update_fields=[*changed, "updated_at"])
    return changed


@transaction.atomic
def patient_merge(*, source: Patient, target: Patient) -> int:
    """The hospital merged `source`'s record into `target`'s (HL7 A40): every episode of `source` (with its
    check-ins, interactions and tasks, which hang from the episode) moves to `target`; `source` stays, marked
    merged, with its own messages and consent history. Returns the number of episodes moved."""
    if source.pk == target.pk:
        raise ValidationError({"patient": "A patient cannot be merged into itself."})
    # Locked in a fixed order (by id), so two merges of the same pair cannot deadlock.
    locked = {p.pk: p for p in Patient.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")}
    source, target = locked[source.pk], locked[target.pk]
    if target.merged_into_id is not None:
        raise ValidationError({"patient": "The surviving patient was itself merged into another."})
    moved = source.episodes.update(patient=target, updated_at=timezone.now())
    # Earlier merges into `source` now point at the survivor, so a lookup never follows a chain.
    Patient.objects.filter(merged_into=source).update(merged_into=target, updated_at=timezone.now())
    source.merged_into = target
    source.save(update_fields=["merged_into", "updated_at"])
    logger.info("patient %s merged into %s (%d episodes)", source.pk, target.pk, moved)
    return moved
