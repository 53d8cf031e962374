"""The story's script: the made-up patient (her number, her zone, her facility), her answer, the one-minute flag."""

import datetime as dt
import random
import re
import zoneinfo

from django.conf import settings

from care_events.choices import Severity
from care_events.models import Patient
from demo.story.timeline import ADMISSION, StepFailedError

# The patient's made-up identity; a fresh fictional number per run (area codes other than the nurses' 415).
PATIENT = {"first_name": "Ada", "last_name": "Demo", "date_of_birth": "1948-05-17", "preferred_language": "en"}
PATIENT_AREA_CODES = ("202", "212", "213", "305", "312", "404", "503", "602", "617", "702", "713", "808", "919")
DEMO_PHONE = re.compile(r"^\+1\d{3}55501\d\d$")
# Where the patient may live: the demo picks the zone where it is early afternoon now, so the server's quiet hours
# (21:00-08:00 in the patient's zone by default) cannot hold the check-in back until the morning.
PATIENT_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)

ANSWER = {
    "text": "I gained four pounds since yesterday and my ankles are swollen.",
    "severity": Severity.HIGH.value,
    "reason_codes": ["HF_WEIGHT_GAIN"],
}
# The one-minute task whose SLA the demo watches (warning at 45 s, breach at 60 s). The agent cannot choose an SLA
# (the product sets it: 2 h for a HIGH flag), so the demo makes this task itself rather than through raise-flag/.
FLAG_SEVERITY = Severity.HIGH
FLAG_REASON_CODES = ["HF_SHORTNESS_OF_BREATH"]
FLAG_ACTION = "NURSE_CALLBACK_2H"
FLAG_SLA_MINUTES = 1


def facility() -> str:
    """The episode's facility: the first of CARE_FACILITIES, a code the server accepts when it reads the same
    settings (its .env), as the demo's database must be the server's too."""
    return next(iter(settings.CARE_FACILITIES))


def afternoon_zone(now: dt.datetime) -> str:
    """The zone among PATIENT_ZONES where the local time now is closest to 14:00."""

    def distance(zone: str) -> float:
        local = now.astimezone(zoneinfo.ZoneInfo(zone))
        hours = local.hour + local.minute / 60
        return min(abs(hours - 14), 24 - abs(hours - 14))

    return min(PATIENT_ZONES, key=distance)


def unused_phone() -> str:
    """A fictional number (555-01xx) no patient of this database has."""
    taken = set(Patient.objects.filter(phone__regex=DEMO_PHONE.pattern).values_list("phone", flat=True))
    free = [phone for area in PATIENT_AREA_CODES for n in range(100, 200) if (phone := f"+1{area}5550{n}") not in taken]
    if not free:
        raise StepFailedError(ADMISSION, "every fictional demo phone number is taken", "delete old demo patients")
    return random.choice(free)
