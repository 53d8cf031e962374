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


def phone_to_e164(value: str) -> str:
    """Any notation of a valid number (+1 202-555-0123, or (202) 555-0123 in PHONE_DEFAULT_REGION) as E.164.
    Raises ValidationError (code invalid_phone) for anything else."""
    from django.conf import settings

    try:
        number = phonenumbers.parse(value, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError("Enter a valid phone number, e.g. +14155550123.", code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("Enter a valid phone number, e.g. +14155550123.", code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@cache
def _timezone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _timezone_names():
        raise ValidationError("Enter an IANA timezone name, e.g. America/New_York.", code="invalid_timezone")


def phone_for_display(value: str) -> str:
    """An E.164 number as people dial it: national notation in PHONE_DEFAULT_REGION ((202) 555-0143), the
    international one elsewhere. A value that does not parse is shown as stored."""
    from django.conf import settings

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    same_region = phonenumbers.region_code_for_number(number) == settings.PHONE_DEFAULT_REGION
    notation = phonenumbers.PhoneNumberFormat.NATIONAL if same_region else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, notation)
