"""FHIR R4 resources to what the feed applies: a Patient and an Encounter, alone or in a transaction Bundle
(docs/integration.md#fhir-r4). Validated with fhir.resources' R4B models (R4B changed nothing of Patient,
Encounter, Bundle, OperationOutcome or CapabilityStatement from R4 4.0.1)."""

import datetime as dt
import json
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError as PydanticError

from intake.adt import AdtData, AdtError, PatientData, VisitData
from intake.mapping import aware, condition_for, facility_for, language_for, phone_for

RESOURCES: dict[str, Any] = {"Encounter": Encounter, "Bundle": Bundle, "Patient": Patient}
# Encounter.status (R4's value set) to the HL7 event it means.
STATUS_EVENTS = {
    "planned": "A01",
    "arrived": "A01",
    "triaged": "A01",
    "in-progress": "A01",
    "onleave": "A01",
    "finished": "A03",
    "cancelled": "A11",
    "entered-in-error": "A11",
}
# Encounter.hospitalization.dischargeDisposition (http://terminology.hl7.org/CodeSystem/discharge-disposition) to
# HL7 table 0112, which Episode.discharge_disposition holds.
DISPOSITIONS = {
    "home": "01",
    "alt-home": "01",
    "hosp": "02",
    "snf": "03",
    "other-hcf": "05",
    "aadvice": "07",
    "exp": "20",
    "rehab": "62",
    "long": "63",
    "psy": "65",
    "oth": "",
}
ICD10_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10")


class FhirInvalid(AdtError):
    """Not a valid resource at all (400): nothing is stored. AdtError's other cases are stored (422)."""


def resource_validate(payload: Any) -> Any:
    """The resource as fhir.resources' model, or FhirInvalid naming the first element that is wrong."""
    if not isinstance(payload, dict):
        raise FhirInvalid("", 102, "The body is not a FHIR resource (a JSON object).")
    if "\\u0000" in json.dumps(payload):  # PostgreSQL's text cannot hold NUL, and no FHIR string has one
        raise FhirInvalid("", 102, "The resource contains a NUL character.")
    kind = payload.get("resourceType")
    model = RESOURCES.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise FhirInvalid("resourceType", 103, f"Expected resourceType {' or '.join(RESOURCES)}.")
    try:
        resource = model.model_validate(payload)
    except PydanticError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in (kind, *error["loc"]) if not str(part).startswith("function"))
        raise FhirInvalid(where.replace("class_fhir", "class"), 102, f"{where}: {error['msg']}") from None
    except Exception as exc:
        # fhir.resources raises more than pydantic's error on some bodies (a KeyError for an unknown resourceType
        # inside a Bundle): whatever the client sent, it is a 400, never a 500. Only the class is echoed.
        raise FhirInvalid(str(kind), 102, f"{kind} is not a valid resource ({type(exc).__name__}).") from None
    if isinstance(resource, Bundle) and resource.type != "transaction":
        raise FhirInvalid("Bundle.type", 103, "Only a transaction Bundle is taken.")
    for _, entry in _entries(resource):
        # fhir.resources checks a code's type, not its value set: Encounter.status is checked here.
        if isinstance(entry, Encounter) and str(entry.status) not in STATUS_EVENTS:
            raise FhirInvalid("Encounter.status", 103, f"Unknown Encounter.status {entry.status!r}.")
    return resource


def fhir_event(resource: Any) -> str:
    encounter = _encounter_of(resource)
    if encounter is None:
        return "A08"
    return STATUS_EVENTS.get(str(encounter.status), "")


def fhir_adt_data(raw: str) -> AdtData:
    resource = resource_validate(json.loads(raw))
    encounter, patient = _encounter_of(resource), _patient_of(resource)
    if encounter is None:
        if patient is None:
            raise FhirInvalid("Bundle.entry", 101, "A Bundle with a Patient, an Encounter, or both.")
        facility = _patient_data(patient).authority
        return AdtData(
            event="A08",
            patient=_patient_data(patient),
            visit=VisitData(facility=facility_for(facility, location="Patient.identifier.assigner")),
        )
    event = STATUS_EVENTS.get(str(encounter.status))
    if event is None:
        raise FhirInvalid("Encounter.status", 103, f"Unknown Encounter.status {encounter.status!r}.")
    visit = _visit(encounter)
    if patient is not None:
        if not _references(encounter, patient, resource):
            raise AdtError("Encounter.subject", 102, "Encounter.subject does not reference the Bundle's Patient.")
        patient_data = _patient_data(patient)
    else:
        patient_data = _subject_identifier(encounter)
    if event == "A03" and visit.discharged_at is None:
        raise AdtError("Encounter.period.end", 101, "A finished Encounter needs period.end: the discharge time.")
    if event in ("A01", "A03") and visit.admitted_at is None:
        raise AdtError("Encounter.period.start", 101, "Encounter.period.start, the admission time, is required.")
    return AdtData(event=event, patient=patient_data, visit=visit, admit_first=True)


def _entries(resource: Any) -> list[tuple[str, Any]]:
    if isinstance(resource, Bundle):
        return [(entry.fullUrl or "", entry.resource) for entry in resource.entry or [] if entry.resource]
    return [("", resource)]


def _encounter_of(resource: Any) -> Encounter | None:
    found = [r for _, r in _entries(resource) if isinstance(r, Encounter)]
    if len(found) > 1:
        raise AdtError("Bundle.entry", 102, "One Encounter per Bundle.")
    return found[0] if found else None


def _patient_of(resource: Any) -> Patient | None:
    found = [r for _, r in _entries(resource) if isinstance(r, Patient)]
    if len(found) > 1:
        raise AdtError("Bundle.entry", 102, "One Patient per Bundle.")
    return found[0] if found else None


def _references(encounter: Encounter, patient: Patient, bundle: Any) -> bool:
    reference = encounter.subject.reference if encounter.subject else None
    full_url = next((url for url, r in _entries(bundle) if r is patient), "")
    return bool(reference) and reference in {full_url, f"Patient/{patient.id}"}


def _typed_value(identifiers: Any, code: str) -> Any:
    """The identifier whose type is `code` (v2 table 0203: MR, VN), else the first."""
    identifiers = identifiers or []
    for identifier in identifiers:
        codings = identifier.type.coding if identifier.type and identifier.type.coding else []
        if any(c.code == code for c in codings):
            return identifier
    return identifiers[0] if identifiers else None


def _assigner(identifier: Any) -> str:
    assigner = identifier.assigner if identifier is not None else None
    if assigner is not None and assigner.identifier is not None and assigner.identifier.value:
        return str(assigner.identifier.value)
    return ""


def _patient_data(patient: Patient) -> PatientData:
    mrn = _typed_value(patient.identifier, "MR")
    if mrn is None or not mrn.value:
        raise AdtError("Patient.identifier", 101, "The Patient's MRN (an identifier of type MR) is required.")
    name = patient.name[0] if patient.name else None
    phone = next((t.value for t in patient.telecom or [] if t.system == "phone" and t.value), "")
    language = ""
    if patient.communication and patient.communication[0].language.coding:
        language = str(patient.communication[0].language.coding[0].code or "")
    born = patient.birthDate
    if born is not None and not isinstance(born, dt.date):
        raise AdtError("Patient.birthDate", 102, "Patient.birthDate must be a full date (YYYY-MM-DD).")
    return PatientData(
        mrn=str(mrn.value),
        authority=_assigner(mrn),
        first_name=str(name.given[0]) if name and name.given else "",
        last_name=str(name.family or "") if name else "",
        date_of_birth=born,
        phone=phone_for(str(phone), location="Patient.telecom"),
        language=language_for(language.split("-")[0]),
    )


def _subject_identifier(encounter: Encounter) -> PatientData:
    identifier = encounter.subject.identifier if encounter.subject else None
    if identifier is None or not identifier.value:
        raise AdtError(
            "Encounter.subject.identifier", 101, "Name the patient by MRN (subject.identifier), or send a Bundle."
        )
    return PatientData(mrn=str(identifier.value), authority=_assigner(identifier))


def _visit(encounter: Encounter) -> VisitData:
    visit_id = _typed_value(encounter.identifier, "VN")
    provider = encounter.serviceProvider.identifier if encounter.serviceProvider else None
    code = str(provider.value) if provider is not None and provider.value else ""
    period = encounter.period
    disposition = ""
    hospitalization = encounter.hospitalization
    if hospitalization and hospitalization.dischargeDisposition and hospitalization.dischargeDisposition.coding:
        disposition = DISPOSITIONS.get(str(hospitalization.dischargeDisposition.coding[0].code), "")
    diagnosis = ""
    for concept in encounter.reasonCode or []:
        diagnosis = next((str(c.code) for c in concept.coding or [] if c.system in ICD10_SYSTEMS and c.code), "")
        if diagnosis:
            break
    return VisitData(
        visit_number=str(visit_id.value) if visit_id is not None and visit_id.value else "",
        facility=facility_for(code, location="Encounter.serviceProvider.identifier"),
        admitted_at=aware(period.start) if period and period.start else None,
        discharged_at=aware(period.end) if period and period.end else None,
        disposition=disposition,
        condition=condition_for(diagnosis),
    )


def resource_dump(resource: Any) -> dict[str, Any]:
    return json.loads(resource.model_dump_json(exclude_none=True))
