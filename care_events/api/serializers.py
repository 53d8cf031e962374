"""Serializer pieces shared by every app's API."""

import uuid

from django.core.validators import RegexValidator
from rest_framework import serializers

UNKNOWN_FIELD = "Unknown or read-only field."
REASON_CODE = RegexValidator(r"^[A-Z][A-Z0-9_]*$", "Use upper-case letters, digits and _, e.g. HF_WEIGHT_GAIN.")


class StrictMixin:
    """Refuses keys the input does not accept (unknown ones, and read-only ones such as `id`, `status` or
    `assigned_to`), naming each, so a typo or a forbidden write is an error rather than silently ignored."""

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = {key: [UNKNOWN_FIELD] for key in data if key not in writable}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictSerializer(StrictMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictMixin, serializers.ModelSerializer):
    pass


class EmptySerializer(StrictSerializer):
    """A POST that takes no fields (an empty body or {})."""


class UUIDRelatedField(serializers.PrimaryKeyRelatedField):
    """An object by its UUID. Django's own UUID error quotes the value; this one does not."""

    default_error_messages = {"does_not_exist": "No such object.", "invalid_uuid": "Must be a valid UUID."}

    def to_internal_value(self, data):
        try:
            uuid.UUID(str(data))
        except ValueError:
            self.fail("invalid_uuid")
        return super().to_internal_value(data)


class ReasonCodeField(serializers.CharField):
    """A reason code is a code (HF_WEIGHT_GAIN), never free text: free text could carry PHI into tasks."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 50)
        kwargs.setdefault(
            "help_text", "Upper-case code, e.g. HF_BREATHING_WORSE, HF_WEIGHT_GAIN, AMI_CHEST_PAIN, MED_NOT_FILLED."
        )
        kwargs.setdefault("validators", [REASON_CODE])
        super().__init__(**kwargs)


def reason_codes_field(**kwargs) -> serializers.ListField:
    kwargs.setdefault("help_text", "Why the answer is worrying, as codes (see DOMAIN.md).")
    return serializers.ListField(child=ReasonCodeField(), max_length=20, **kwargs)
