"""Field validators shared by every app (patients' and nurses' phone numbers, IANA timezones)."""

import zoneinfo
from functools import cache

import phonenumbers
from django.core.exceptions import ValidationError


def validate_e164(value: str) -> None:
    """A phone number must already be in E.164 form (+ and digits) and be a number that can be dialled."""
    message = "Enter a phone number in E.164 format, e.g. +14155550123."
    if not value.startswith("+") or not value[1:].isdigit():
        raise ValidationError(message, code="invalid_phone")
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(message, code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(message, code="invalid_phone")


@cache
def _timezone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _timezone_names():
        raise ValidationError("Enter an IANA timezone name, e.g. America/New_York.", code="invalid_timezone")
