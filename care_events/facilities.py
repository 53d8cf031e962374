"""The facilities a patient's message may name: a vetted list in settings (CARE_FACILITIES, `code=Display name`).

A patient's or an episode's `facility` is one of these codes, never free text: the check-in SMS goes out from the
hospital's number, and a name typed by a caller would be sent verbatim. A code no longer listed (the list changed,
or a row older than the list) is never shown either: the message says "the hospital".
"""

from django.conf import settings


def facility_choices() -> list[tuple[str, str]]:
    """(code, display name) of every listed facility: the model fields' choices (admin's select) and the API's."""
    return list(settings.CARE_FACILITIES.items())


def facility_display_name(code: str) -> str | None:
    """The vetted name of a listed facility, or None for a code that is not (or no longer) listed."""
    return settings.CARE_FACILITIES.get(code)


def facility_codes_message() -> str:
    """The error of a facility that is not listed; it lists the allowed codes (never the submitted value)."""
    return f"Unknown facility. Allowed codes: {', '.join(settings.CARE_FACILITIES)}."
