"""Mapping tables shared by both formats (docs/integration.md#mapping-tables)."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError

from care_events.models import Condition
from care_events.validators import phone_to_e164
from intake.adt import AdtError

# ICD-10-CM prefixes of the admitting diagnosis (DG1-3, PV2-3, FHIR Encounter.reasonCode) to the product's
# conditions; anything else is OTHER. Longest prefix wins.
ICD10_CONDITIONS = {
    "I50": Condition.HF,
    "I11.0": Condition.HF,
    "I13.0": Condition.HF,
    "J44": Condition.COPD,
    "I21": Condition.AMI,
    "I22": Condition.AMI,
    "J12": Condition.PNA,
    "J13": Condition.PNA,
    "J14": Condition.PNA,
    "J15": Condition.PNA,
    "J16": Condition.PNA,
    "J17": Condition.PNA,
    "J18": Condition.PNA,
    "Z95.1": Condition.CABG,
    "Z96.64": Condition.THA_TKA,
    "Z96.65": Condition.THA_TKA,
}

# ISO 639-2 (what HL7 table 0296 and many engines send) to the BCP 47 tags the product's messages use.
LANGUAGES = {"eng": "en", "spa": "es", "fre": "fr", "fra": "fr", "por": "pt", "chi": "zh", "zho": "zh", "vie": "vi"}


def condition_for(code: str) -> str:
    code = code.strip().upper()
    if not code:
        return Condition.OTHER
    if "." not in code and len(code) > 3:
        code = f"{code[:3]}.{code[3:]}"  # I5022 and I50.22 are the same code
    matches = [prefix for prefix in ICD10_CONDITIONS if code.startswith(prefix)]
    return ICD10_CONDITIONS[max(matches, key=len)] if matches else Condition.OTHER


def language_for(value: str) -> str:
    value = value.strip().lower()
    return LANGUAGES.get(value, value if len(value) == 2 else "")


def facility_for(code: str, *, location: str) -> str:
    """A CARE_FACILITIES code (the same codes as the API), or AdtError naming the field."""
    if not code:
        raise AdtError(location, 101, "Facility missing.")
    if code not in settings.CARE_FACILITIES:
        raise AdtError(location, 103, f"Unknown facility {code!r}: not a code of CARE_FACILITIES.")
    return code


def phone_for(value: str, *, location: str) -> str:
    if not value:
        return ""
    try:
        return phone_to_e164(value)
    except ValidationError:
        raise AdtError(location, 102, "Not a valid phone number.") from None


def aware(value: dt.datetime) -> dt.datetime:
    """A time without a UTC offset is the hospital's local time (ADT_DEFAULT_TIMEZONE)."""
    if value.tzinfo is None:
        from zoneinfo import ZoneInfo

        return value.replace(tzinfo=ZoneInfo(settings.ADT_DEFAULT_TIMEZONE))
    return value
