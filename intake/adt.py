"""What a message of the feed says, whichever format it came in (HL7 v2 or FHIR R4), and why it cannot be applied."""

import datetime as dt
from dataclasses import dataclass, field

# The events taken: admit, discharge, register, update, cancel admit, cancel discharge, merge (docs/integration.md).
SUPPORTED_EVENTS = ("A01", "A03", "A04", "A08", "A11", "A13", "A40")


# The fields the mapping checks, as a FHIR client names them (a FHIR message's error says where in its resource).
FHIR_LOCATIONS = {
    "PID-3": "Patient.identifier",
    "PID-5": "Patient.name",
    "PID-7": "Patient.birthDate",
    "PID-13": "Patient.telecom",
    "PV1-3": "Encounter.serviceProvider.identifier",
    "PV1-19": "Encounter.identifier",
    "PV1-44": "Encounter.period.start",
    "PV1-45": "Encounter.period.end",
}


class AdtError(Exception):
    """The message cannot be applied as it is: `location` names the field (PID-3, PV1-45), `code` is HL7 table
    0357's (101 required field missing, 102 data type error, 103 table value not found, 204 unknown key)."""

    def __init__(self, location: str, code: int, message: str) -> None:
        super().__init__(message)
        self.location, self.code, self.message = location, code, message


@dataclass
class PatientData:
    mrn: str = ""
    authority: str = ""  # PID-3.4: who issued the MRN
    first_name: str = ""
    last_name: str = ""
    date_of_birth: dt.date | None = None
    phone: str = ""  # E.164, or "" when none was given
    language: str = ""


@dataclass
class VisitData:
    visit_number: str = ""
    facility: str = ""  # PV1-3.4, else MSH-4 (FHIR: the Encounter's serviceProvider or location)
    admitted_at: dt.datetime | None = None
    discharged_at: dt.datetime | None = None
    disposition: str = ""
    condition: str = ""  # a Condition of care_events


@dataclass
class AdtData:
    event: str
    patient: PatientData = field(default_factory=PatientData)
    visit: VisitData = field(default_factory=VisitData)
    prior: PatientData | None = None  # A40: the record merged away (MRG-1)
    event_at: dt.datetime | None = None  # EVN-6, else EVN-2, else MSH-7
    # FHIR: an Encounter carries its admission with its discharge, so a finished one unknown here is admitted
    # first; and an Encounter unknown here is an error, never held (HL7 holds a message that came before its A01).
    admit_first: bool = False
