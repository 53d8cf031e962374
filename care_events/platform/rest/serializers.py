"""Serializer pieces shared by every app's API."""

import uuid
from typing import Any, ClassVar

from django.core.validators import RegexValidator
from django.db.models import Model
from rest_framework import serializers

UNKNOWN_FIELD = "Unknown or read-only field."
REASON_CODE = RegexValidator(r"^[A-Z][A-Z0-9_]*$", "Use upper-case letters, digits and _, e.g. HF_WEIGHT_GAIN.")


class UUIDRelatedField(serializers.PrimaryKeyRelatedField):
    """An object by its UUID. Django's own UUID error quotes the value; this one does not."""

    default_error_messages = {"does_not_exist": "No such object.", "invalid_uuid": "Must be a valid UUID."}

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if data == "":  # DRF would read "" as null
            self.fail("invalid_uuid")
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> Model:
        try:
            uuid.UUID(str(data))
        except ValueError:
            self.fail("invalid_uuid")
        return super().to_internal_value(data)


def _type_error(field: serializers.Field, value: object) -> str | None:
    """The JSON type a field takes, strictly: DRF would read 0 as "0", "5" as 5 and 0 as false; a client sending
    those has a bug that should surface as a 400 rather than be guessed around."""
    if value is None:
        return None  # allow_null decides
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be true or false."
    if isinstance(field, serializers.IntegerField) or (
        isinstance(field, serializers.PrimaryKeyRelatedField) and not isinstance(field, UUIDRelatedField)
    ):
        return None if isinstance(value, int) and not isinstance(value, bool) else "Must be an integer."
    textual = (
        serializers.CharField,
        serializers.ChoiceField,
        serializers.DateField,
        serializers.DateTimeField,
        serializers.UUIDField,
        UUIDRelatedField,
    )
    if isinstance(field, textual):
        return None if isinstance(value, str) else "Must be a string."
    return None


class StrictSerializer(serializers.Serializer):
    """Refuses keys the input does not accept (unknown ones, and read-only ones such as `id`, `status` or
    `assigned_to`), naming each, so a typo or a forbidden write is an error rather than silently ignored; and
    values of the wrong JSON type (see _type_error). `refused_fields` says why a key the client may not send is
    refused, where "unknown or read-only" would not tell the client what to do instead."""

    refused_fields: ClassVar[dict[str, str]] = {}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        refused = {}
        if isinstance(data, dict):
            writable = {name: field for name, field in self.fields.items() if not field.read_only}
            refused = {key: [self.refused_fields.get(key, UNKNOWN_FIELD)] for key in data if key not in writable}
            for name, field in writable.items():
                message = _type_error(field, data.get(name)) if name in data else None
                if message:
                    refused[name] = [message]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if refused and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **refused}) from None
            raise
        if refused:
            raise serializers.ValidationError(refused)
        return value


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass


class EmptySerializer(StrictSerializer):
    """A POST that takes no fields (an empty body or {})."""


class ReasonCodeField(serializers.CharField):
    """A reason code is a code (HF_WEIGHT_GAIN), never free text: free text could carry PHI into tasks."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 50)
        kwargs.setdefault(
            "help_text", "Upper-case code, e.g. HF_BREATHING_WORSE, HF_WEIGHT_GAIN, AMI_CHEST_PAIN, MED_NOT_FILLED."
        )
        kwargs.setdefault("validators", [REASON_CODE])
        super().__init__(**kwargs)


def reason_codes_field(**kwargs: Any) -> serializers.ListField:
    kwargs.setdefault("help_text", "Why the answer is worrying, as codes (e.g. HF_WEIGHT_GAIN, MED_NOT_FILLED).")
    return serializers.ListField(child=ReasonCodeField(), max_length=20, **kwargs)
