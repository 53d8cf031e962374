"""FHIR R4 examples shaped as hospitals' FHIR facades send them (Epic's and Cerner's ADT notifications)."""

import copy
from typing import Any

MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
VN = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "VN"}]}


def patient(*, mrn: str = "MRN100", facility: str = "GENERAL", family: str = "Moreno") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "123-45-6789"},
            {
                "type": MR,
                "system": "urn:oid:1.2.840.114350.1.13.0",
                "value": mrn,
                "assigner": {"identifier": {"value": facility}},
            },
        ],
        "name": [{"use": "official", "family": family, "given": ["Ada", "Maria"]}],
        "birthDate": "1948-05-17",
        "telecom": [
            {"system": "email", "value": "ada@example.org"},
            {"system": "phone", "value": "(202) 555-0143", "use": "mobile"},
        ],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es-US"}]}}],
    }


def encounter(
    *,
    status: str = "finished",
    visit: str = "V100",
    facility: str = "GENERAL",
    start: str = "2026-12-01T08:30:00-05:00",
    end: str | None = "2026-12-05T14:30:00-05:00",
    subject: dict[str, Any] | None = None,
    disposition: str = "home",
    id: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "identifier": [{"type": VN, "value": visit}],
        "subject": subject or {"identifier": {"value": "MRN100", "assigner": {"identifier": {"value": "GENERAL"}}}},
        "serviceProvider": {"identifier": {"value": facility}},
        "period": {"start": start, **({"end": end} if end else {})},
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J18.9"}]}],
        "hospitalization": {
            "dischargeDisposition": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": disposition}
                ]
            }
        },
    }
    if id:
        resource["id"] = id
    return resource


def bundle(*, enc: dict[str, Any] | None = None, pat: dict[str, Any] | None = None, id: str | None = None) -> dict:
    pat = pat or patient()
    enc = copy.deepcopy(enc or encounter())
    enc["subject"] = {"reference": "urn:uuid:6d1c3f2e-8a1e-4a6b-9b1e-000000000001"}
    resource: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:6d1c3f2e-8a1e-4a6b-9b1e-000000000001",
                "resource": pat,
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:6d1c3f2e-8a1e-4a6b-9b1e-000000000002",
                "resource": enc,
                "request": {"method": "POST", "url": "Encounter"},
            },
        ],
    }
    if id:
        resource["id"] = id
    return resource
