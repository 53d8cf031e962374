"""Applying the feed: one message, one transaction. The raw message, its outcome and its effects on patients and
episodes commit together, and only then is the sender acknowledged; a resend (same sending facility and control id)
finds the stored row and gets the same answer, so a message is applied once however often it arrives.

Effects go through care_events' services (patient_create, episode_create, episode_discharge, …), so a discharge
from the feed emits `patient/discharged` and schedules the check-in exactly as one from the API does."""

import json
import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from care_events.models import Episode, Patient
from care_events.platform.bus.insert import insert_once
from care_events.selectors import patients_by_mrn
from care_events.services.episodes import (
    episode_cancel,
    episode_create,
    episode_discharge,
    episode_discharge_cancel,
    episode_readmission_mark,
)
from care_events.services.patients import PatientExistsError, patient_create, patient_demographics_update, patient_merge
from intake import hl7v2
from intake.adt import FHIR_LOCATIONS, SUPPORTED_EVENTS, AdtData, AdtError, PatientData
from intake.mapping import facility_for
from intake.models import AdtMessage, AdtSource, AdtStatus

logger = logging.getLogger(__name__)


class Held(Exception):
    """The message acts on a stay whose admission has not arrived: it waits (HELD) and is applied after it."""


def hl7_receive(block: bytes) -> str:
    """One MLLP block in, the acknowledgement's text out (the caller writes it back). Never raises for anything the
    sender sent: what cannot be read is answered AR; what cannot be applied is stored and answered AE."""
    try:
        text, _codec = hl7v2.decode(block)
        message = hl7v2.parse(text)
    except hl7v2.UnreadableMessage as exc:
        return hl7v2.ack(None, "AR", text=str(exc), error_code=102, location="MSH-1")
    head = hl7v2.header(message)
    if not head.control_id:
        return hl7v2.ack(head, "AR", text="Missing message control id in MSH-10.", error_code=101, location="MSH-10")
    row = AdtMessage(
        source=AdtSource.HL7V2,
        sending_facility=head.sending_facility[:200],
        control_id=head.control_id[:200],
        message_type=head.message_type[:20],
        event=head.event[:8],
        version=head.version[:10],
        raw=text,
        status=AdtStatus.ERROR,  # until it is applied, below, in the same transaction: nobody sees this
    )
    with transaction.atomic():
        # The unique (source, sending facility, control id): a resend, even one racing the first on another
        # connection, waits here for the first's commit and then answers what the first answered.
        if not insert_once(row, key=("source", "sending_facility", "control_id")):
            stored = AdtMessage.objects.get(
                source=row.source, sending_facility=row.sending_facility, control_id=row.control_id
            )
            logger.info("adt message %s resent; answered %s again", stored.pk, stored.ack_code)
            return _ack_of(stored, head)
        refusal = _refusal(head)
        if refusal:
            row.status, row.ack_code = AdtStatus.REJECTED, "AR"
            row.error, row.error_location, row.error_code = refusal
        else:
            _apply_row(row, lambda: hl7v2.adt_data(message, head))
        row.save()
    logger.info("adt message %s %s %s", row.pk, row.message_type, row.status)
    return _ack_of(row, head)


def _refusal(head: hl7v2.Header) -> tuple[str, str, int] | None:
    """Why the message is not one we take (AR): its words, the field, table 0357's code."""
    if not head.message_type.startswith("ADT^") or head.event not in SUPPORTED_EVENTS:
        return f"Unsupported message type {head.message_type}.", "MSH-9", 200
    if head.version not in hl7v2.SUPPORTED_VERSIONS:
        return f"Unsupported HL7 version {head.version}.", "MSH-12", 203
    return None


def _ack_of(row: AdtMessage, head: hl7v2.Header) -> str:
    return hl7v2.ack(head, row.ack_code or "AA", text=row.error, error_code=row.error_code, location=row.error_location)


def _apply_row(row: AdtMessage, read: Callable[[], AdtData]) -> None:
    """Apply the message in a savepoint: an error undoes its effects and leaves the row ERROR (AE) with the reason;
    a message waiting for its admission is HELD (AA: stored, it will be applied)."""
    row.effects = []
    try:
        with transaction.atomic():
            data = read()
            row.facility, row.visit_number = data.visit.facility, data.visit.visit_number[:64]
            _apply(row, data)
    except (Held, AdtError, ValidationError) as exc:
        # The savepoint undid every effect: the rows named so far (a patient created before the error) are gone.
        row.patient = row.episode = None
        _record_failure(row, exc)
    else:
        row.status, row.ack_code, row.error, row.error_location, row.error_code = AdtStatus.APPLIED, "AA", "", "", 0
        row.applied_at = timezone.now()


def _record_failure(row: AdtMessage, exc: Exception) -> None:
    row.effects = []
    if isinstance(exc, Held):
        row.status, row.ack_code, row.error, row.error_location, row.error_code = AdtStatus.HELD, "AA", "", "", 0
        row.effects = ["held until the admission of this visit arrives"]
    elif isinstance(exc, AdtError):
        location = exc.location if row.source == AdtSource.HL7V2 else FHIR_LOCATIONS.get(exc.location, exc.location)
        row.status, row.ack_code, row.error, row.error_location = AdtStatus.ERROR, "AE", exc.message, location
        row.error_code = exc.code
    elif isinstance(exc, ValidationError):
        row.status, row.ack_code, row.error, row.error_location = AdtStatus.ERROR, "AE", _words(exc), ""
        row.error_code = 207


def _words(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(m for e in errs for m in e.messages)}" for name, errs in exc.error_dict.items()
        )
    return " ".join(exc.messages)


def _apply(row: AdtMessage, data: AdtData) -> None:
    """The effects of one event; each is written down in `row.effects`."""
    if data.event == "A40":
        _merge(row, data)
        return
    patient = _patient_upsert(
        row, data.patient, facility=data.visit.facility, update=data.event in ("A01", "A04", "A08")
    )
    row.patient = patient
    if data.event in ("A04", "A08"):
        return
    if data.event == "A01":
        _admit(row, data, patient)
        return
    episode = _episode_of(data, patient)
    if episode is None and data.admit_first and data.event == "A03":
        _admit(row, data, patient)
        episode = row.episode
    if episode is None:
        if data.admit_first:
            raise AdtError("Encounter.identifier", 204, "No such encounter here: it was never admitted.")
        if data.visit.visit_number:
            raise Held
        raise AdtError("PV1-19", 101, "Missing visit number in PV1-19 and no open admission of this patient.")
    row.episode = episode
    if data.event == "A03":
        discharged_at = data.visit.discharged_at or data.event_at
        if discharged_at is None:
            raise AdtError("PV1-45", 101, "Missing discharge time in PV1-45.")
        episode_discharge(episode=episode, discharged_at=discharged_at, disposition=data.visit.disposition[:20])
        row.effects.append(f"episode {episode.pk} discharged; the check-in follows")
    elif data.event == "A11":
        if episode_cancel(episode=episode):
            row.effects.append(f"episode {episode.pk} cancelled")
    elif data.event == "A13" and episode_discharge_cancel(episode=episode):
        row.effects.append(f"episode {episode.pk} discharge cancelled; its pending check-in cancelled")


def _admit(row: AdtMessage, data: AdtData, patient: Patient) -> None:
    visit = data.visit
    existing = _episode_of(data, patient) if visit.visit_number else None
    if existing is not None:
        row.episode = existing
        row.effects.append(f"episode {existing.pk} was admitted already")
        return
    admitted_at = visit.admitted_at or data.event_at
    if admitted_at is None:
        raise AdtError("PV1-44", 101, "Missing admission time in PV1-44.")
    episode = episode_create(
        patient=patient,
        admitted_at=admitted_at,
        condition=visit.condition or "OTHER",
        facility=visit.facility,
        visit_number=visit.visit_number[:64],
    )
    row.episode = episode
    row.effects.append(f"episode {episode.pk} admitted")
    earlier = episode_readmission_mark(episode=episode)
    if earlier is not None:
        row.effects.append(f"episode {earlier.pk} marked readmitted")
    if visit.visit_number:
        _apply_held(row, facility=visit.facility, visit_number=visit.visit_number)


def _apply_held(row: AdtMessage, *, facility: str, visit_number: str) -> None:
    """The messages of this visit that came before its admission, in the order they arrived."""
    held = AdtMessage.objects.select_for_update().filter(
        status=AdtStatus.HELD, facility=facility, visit_number=visit_number
    )
    for message in held.order_by("received_at", "pk"):
        adt_message_reapply_row(message)
        message.save()
        row.effects.append(f"applied held message {message.pk}: {message.status}")


def _episode_of(data: AdtData, patient: Patient) -> Episode | None:
    visit = data.visit
    if visit.visit_number:
        return Episode.objects.filter(facility=visit.facility, visit_number=visit.visit_number).first()
    return (
        Episode.objects.filter(patient=patient, facility=visit.facility, discharged_at=None, cancelled_at=None)
        .order_by("-admitted_at")
        .first()
    )


def _patient_facility(data: PatientData, *, facility: str) -> str:
    """The MRN's issuer: PID-3.4 when it is a CARE_FACILITIES code, else the message's facility."""
    try:
        return facility_for(data.authority, location="PID-3")
    except AdtError:
        return facility


def _patient_find(data: PatientData, *, facility: str) -> Patient | None:
    patient = patients_by_mrn(mrn=data.mrn, facility=_patient_facility(data, facility=facility)).first()
    if patient is not None and patient.merged_into_id is not None:
        return Patient.objects.get(pk=patient.merged_into_id)
    return patient


def _patient_upsert(row: AdtMessage, data: PatientData, *, facility: str, update: bool) -> Patient:
    patient = _patient_find(data, facility=facility)
    demographics = {
        "first_name": data.first_name[:100],
        "last_name": data.last_name[:100],
        "date_of_birth": data.date_of_birth,
        "phone": data.phone,
        "preferred_language": data.language,
    }
    if patient is not None:
        if update:
            changed = patient_demographics_update(patient=patient, **demographics)
            if changed:
                row.effects.append(f"patient {patient.pk} updated: {', '.join(changed)}")
        return patient
    for field, location, words in (
        ("last_name", "PID-5", "Missing patient name in PID-5."),
        ("date_of_birth", "PID-7", "Missing date of birth in PID-7."),
        ("phone", "PID-13", "Missing phone number in PID-13: the check-in is a text message."),
    ):
        if not demographics[field]:
            raise AdtError(location, 101, words)
    try:
        patient = patient_create(
            **{k: v for k, v in demographics.items() if v},  # type: ignore[arg-type]
            mrn=data.mrn[:64],
            facility=_patient_facility(data, facility=facility),
            # Neither HL7 ADT nor FHIR Patient carries the patient's time zone: the hospital's is the best guess for
            # placing the check-in outside quiet hours (staff change it in admin).
            timezone=settings.ADT_DEFAULT_TIMEZONE,
        )
    except PatientExistsError:  # another connection created it a moment ago
        found = _patient_find(data, facility=facility)
        assert found is not None
        return found
    row.effects.append(f"patient {patient.pk} created")
    return patient


def _merge(row: AdtMessage, data: AdtData) -> None:
    assert data.prior is not None
    facility = data.visit.facility
    prior = patients_by_mrn(mrn=data.prior.mrn, facility=_patient_facility(data.prior, facility=facility)).first()
    if prior is None:
        raise AdtError("MRG-1", 204, "Unknown prior patient in MRG-1.")
    survivor = _patient_upsert(row, data.patient, facility=facility, update=True)
    row.patient = survivor
    if prior.merged_into_id == survivor.pk or prior.pk == survivor.pk:
        row.effects.append(f"patient {prior.pk} was merged into {survivor.pk} already")
        return
    moved = patient_merge(source=prior, target=survivor)
    row.effects.append(f"patient {prior.pk} merged into {survivor.pk}: {moved} episodes moved")


def adt_message_reapply_row(row: AdtMessage) -> None:
    """Apply a stored message again (HELD, or ERROR once an operator fixed the cause); the caller saves it."""
    if row.status not in (AdtStatus.HELD, AdtStatus.ERROR):
        raise ValidationError({"status": "Only a held message or one in error is applied again."})
    row.attempts += 1
    if row.source == AdtSource.HL7V2:
        message = hl7v2.parse(row.raw)
        head = hl7v2.header(message)
        refusal = _refusal(head)
        if refusal:
            raise ValidationError({"raw": refusal[0]})
        _apply_row(row, lambda: hl7v2.adt_data(message, head))
    else:
        from intake.fhir.mapping import fhir_adt_data

        _apply_row(row, lambda: fhir_adt_data(row.raw))


@transaction.atomic
def adt_message_reapply(*, message_id: int) -> AdtMessage:
    """The admin's Re-apply: the message's effects and its new outcome commit together."""
    row = AdtMessage.objects.select_for_update().get(pk=message_id)
    adt_message_reapply_row(row)
    row.save()
    logger.info("adt message %s re-applied: %s", row.pk, row.status)
    return row


@transaction.atomic
def adt_message_correct(*, message_id: int, raw: str) -> AdtMessage:
    """An operator corrected a message in error (admin): the text as received is kept in `received_raw`, the
    corrected one is applied. Its sender and control id stay what they were (a resend still finds it)."""
    row = AdtMessage.objects.select_for_update().get(pk=message_id)
    if row.source != AdtSource.HL7V2:
        raise ValidationError({"raw": "Only an HL7 v2 message is corrected here; the FHIR client sends it again."})
    text = raw.replace("\r\n", "\r").replace("\n", "\r").strip("\r")
    try:
        head = hl7v2.header(hl7v2.parse(text))
    except hl7v2.UnreadableMessage as exc:
        raise ValidationError({"raw": str(exc)}) from None
    if (head.sending_facility, head.control_id) != (row.sending_facility, row.control_id):
        raise ValidationError({"raw": "Keep MSH-4 and MSH-10: they name the message the sender will resend."})
    row.received_raw = row.received_raw or row.raw
    row.raw = text
    row.message_type, row.event, row.version = head.message_type[:20], head.event[:8], head.version[:10]
    adt_message_reapply_row(row)
    row.save()
    logger.info("adt message %s corrected and re-applied: %s", row.pk, row.status)
    return row


def fhir_receive(*, payload: object, sender: str) -> tuple[AdtMessage, bool]:
    """A FHIR Encounter, or a transaction Bundle of a Patient and an Encounter, from an authenticated client
    (`sender`: its account's name). Not a valid resource: FhirInvalid (400), nothing stored. Otherwise stored and
    applied in one transaction like an HL7 message: (the row, whether it is new). A resource posted again with the
    same id by the same client finds the first row (its outcome is answered again; nothing is applied twice)."""
    from intake.fhir.mapping import fhir_adt_data, fhir_event, resource_validate

    resource = resource_validate(payload)
    raw = json.dumps(payload, separators=(",", ":"))
    row = AdtMessage(
        source=AdtSource.FHIR,
        sending_facility=sender[:200],
        control_id=(str(resource.id) if resource.id else uuid.uuid4().hex)[:200],
        message_type=str(resource.get_resource_type())[:20],
        event=fhir_event(resource),
        version="4.0.1",
        raw=raw,
        status=AdtStatus.ERROR,  # until applied below, in the same transaction
    )
    with transaction.atomic():
        if not insert_once(row, key=("source", "sending_facility", "control_id")):
            return AdtMessage.objects.get(
                source=row.source, sending_facility=row.sending_facility, control_id=row.control_id
            ), False
        _apply_row(row, lambda: fhir_adt_data(raw))
        row.save()
    logger.info("adt message %s %s %s", row.pk, row.message_type, row.status)
    return row, True
