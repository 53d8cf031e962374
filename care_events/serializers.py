"""The care_events API's bodies: patients, episodes, interactions and their responses, and events."""

import datetime as dt
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.validators import RegexValidator
from django.utils import timezone
from rest_framework import serializers

from care_events.choices import Severity
from care_events.models import AgentInteraction, Episode, InteractionResponse, Patient, PatientMessage
from care_events.selectors import episode_list, outreach_attempt_list, patient_list
from config.rest.serializers import StrictModelSerializer, StrictSerializer, UUIDRelatedField, reason_codes_field

# Clocks differ: a time a few minutes ahead of ours is a skewed clock, not a time in the future.
CLOCK_SKEW = dt.timedelta(minutes=5)


class PhoneNumberField(serializers.CharField):
    """Accepts any notation of a valid number (+1 202-555-0123, (202) 555-0123 in PHONE_DEFAULT_REGION) and
    stores it in E.164."""

    default_error_messages = {"invalid_phone": "Enter a valid phone number, e.g. +14155550123."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            number = phonenumbers.parse(value, settings.PHONE_DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            self.fail("invalid_phone")
        if not phonenumbers.is_valid_number(number):
            self.fail("invalid_phone")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _not_in_future(value: dt.datetime) -> dt.datetime:
    if value > timezone.now() + CLOCK_SKEW:
        raise serializers.ValidationError("Cannot be in the future.")
    return value


class PatientSerializer(StrictModelSerializer):
    phone = PhoneNumberField(help_text="Any notation of a valid number; stored and returned in E.164.")

    class Meta:
        model = Patient
        fields = [
            "id",
            "first_name",
            "last_name",
            "date_of_birth",
            "phone",
            "timezone",
            "preferred_language",
            "sms_consent",
            "sms_opted_out_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "sms_opted_out_at", "created_at", "updated_at"]
        extra_kwargs = {
            "first_name": {"help_text": "Given name."},
            "last_name": {"help_text": "Family name."},
            "date_of_birth": {"help_text": "YYYY-MM-DD; not in the future."},
            "timezone": {"help_text": "IANA name (e.g. America/New_York): messages avoid the patient's night."},
            "preferred_language": {
                "help_text": "BCP 47 tag of the messages' language, e.g. en, es.",
                "validators": [RegexValidator(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", "Use a BCP 47 tag, e.g. en, es.")],
            },
            "sms_consent": {"help_text": "May the patient be texted? Defaults to true; false once they text STOP."},
            "sms_opted_out_at": {"help_text": "When the patient texted STOP, if they did."},
            "id": {"help_text": "The patient's UUID."},
            "created_at": {"help_text": "When the patient was created (UTC)."},
            "updated_at": {"help_text": "When the patient last changed (UTC)."},
        }

    def validate_date_of_birth(self, value: dt.date) -> dt.date:
        if value > timezone.now().date() or value.year < 1900:
            raise serializers.ValidationError("Enter a date of birth between 1900 and today.")
        return value


class EpisodeSerializer(StrictModelSerializer):
    patient_id = UUIDRelatedField(source="patient", queryset=patient_list(), help_text="The patient's UUID.")

    class Meta:
        model = Episode
        fields = ["id", "patient_id", "admitted_at", "discharged_at", "condition", "facility", "created_at"]
        read_only_fields = ["id", "discharged_at", "created_at"]
        extra_kwargs = {
            "id": {"help_text": "The episode's UUID."},
            "admitted_at": {"help_text": "Admission time (ISO 8601 with an offset); not in the future."},
            "discharged_at": {"help_text": "Set by POST episodes/{id}/discharge/; null until then."},
            "condition": {"help_text": "Index condition: HF, COPD, AMI, PNA, CABG, THA_TKA or OTHER."},
            "facility": {"help_text": "The hospital or unit."},
            "created_at": {"help_text": "When the episode was created (UTC)."},
        }

    def validate_admitted_at(self, value: dt.datetime) -> dt.datetime:
        return _not_in_future(value)


class DischargeSerializer(StrictSerializer):
    discharged_at = serializers.DateTimeField(
        required=False, help_text="When the patient left (ISO 8601); default now. Not before the admission."
    )

    def validate_discharged_at(self, value: dt.datetime) -> dt.datetime:
        return _not_in_future(value)


class InteractionResponseSerializer(StrictModelSerializer):
    interaction_id = serializers.UUIDField(read_only=True, help_text="The interaction's UUID.")
    reason_codes = reason_codes_field(required=False, default=list)

    class Meta:
        model = InteractionResponse
        fields = ["id", "interaction_id", "text", "severity", "reason_codes", "received_at"]
        read_only_fields = ["id", "received_at"]
        extra_kwargs = {
            "id": {"help_text": "The response's UUID."},
            "text": {"help_text": "What the patient said (stored; never sent in events or logs).", "max_length": 4000},
            "severity": {"help_text": "The agent's grading. MODERATE and above create an escalation task."},
            "received_at": {"help_text": "When it was recorded (UTC)."},
        }


class PatientMessageSerializer(serializers.ModelSerializer):
    """Read only: the patient's texts are written by Twilio's inbound webhook, never through the API."""

    class Meta:
        model = PatientMessage
        fields = ["id", "text", "received_at"]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "The message's UUID."},
            "text": {"help_text": "What the patient texted, as received (never a keyword: STOP, START, HELP…)."},
            "received_at": {"help_text": "When it reached us (UTC)."},
        }


class InteractionSerializer(StrictModelSerializer):
    episode_id = UUIDRelatedField(source="episode", queryset=episode_list(), help_text="The episode's UUID.")
    outreach_attempt_id = UUIDRelatedField(
        source="outreach_attempt",
        queryset=outreach_attempt_list(),
        required=False,
        allow_null=True,
        help_text="The check-in attempt that started this conversation, if any (UUID).",
    )
    severity = serializers.ChoiceField(
        choices=Severity.choices,
        allow_blank=True,
        read_only=True,
        help_text="The highest severity among its responses; empty before the first.",
    )
    responses = InteractionResponseSerializer(many=True, read_only=True, help_text="Its responses, oldest first.")

    class Meta:
        model = AgentInteraction
        fields = [
            "id",
            "episode_id",
            "outreach_attempt_id",
            "status",
            "severity",
            "outcome",
            "summary",
            "started_at",
            "last_response_at",
            "completed_at",
            "responses",
        ]
        read_only_fields = [
            "id",
            "status",
            "severity",
            "outcome",
            "summary",
            "started_at",
            "last_response_at",
            "completed_at",
        ]
        extra_kwargs = {
            "id": {"help_text": "The interaction's UUID."},
            "status": {"help_text": "IN_PROGRESS, ESCALATED (a task was created), COMPLETED or ABANDONED."},
            "outcome": {"help_text": "Set on completion."},
            "summary": {"help_text": "Set on completion."},
            "started_at": {"help_text": "UTC."},
            "last_response_at": {"help_text": "UTC; null before the first response."},
            "completed_at": {"help_text": "UTC; null until completed."},
        }


class InteractionCompleteSerializer(StrictSerializer):
    outcome = serializers.CharField(
        max_length=50, help_text="How the check-in ended, a short code or phrase, e.g. COMPLETED, PATIENT_OK."
    )
    summary = serializers.CharField(
        max_length=10000, required=False, default="", allow_blank=True, help_text="The agent's summary."
    )


class EventSerializer(StrictSerializer):
    name = serializers.CharField(max_length=64, help_text="An event outside callers may send: patient/discharged.")
    data = serializers.DictField(help_text='The event\'s payload, e.g. {"episode_id": "<uuid>"}.')
    id = serializers.CharField(
        max_length=150,
        required=False,
        help_text="Your id for this event (e.g. the ADT message id), optional. A repeated event is recognised by "
        "the fact it records, whatever its id: one discharge per episode, and a repeat answers with the first event.",
    )


class EventAcceptedSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The recorded event's UUID (the first one's, for a repeated id).")
    name = serializers.CharField(help_text="The event's name.")
    created_at = serializers.DateTimeField(help_text="When it was recorded (UTC).")
