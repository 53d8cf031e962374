"""The care_events API's bodies: patients, episodes, interactions and their responses, and events."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from care_events.choices import Severity
from care_events.facilities import facility_codes_message, facility_display_name
from care_events.models import (
    AgentInteraction,
    Episode,
    InteractionResponse,
    OutreachAttempt,
    Patient,
)
from care_events.platform.rest.serializers import (
    StrictModelSerializer,
    StrictSerializer,
    UUIDRelatedField,
    reason_codes_field,
)
from care_events.selectors import episode_current_outreach_attempt, episode_list, outreach_attempt_list, patient_list
from care_events.validators import phone_to_e164

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
        try:
            return phone_to_e164(super().to_internal_value(data))
        except DjangoValidationError:
            raise serializers.ValidationError(self.error_messages["invalid_phone"], code="invalid_phone") from None


class FacilityField(serializers.CharField):
    """A code of CARE_FACILITIES (care_events/facilities.py): patients' messages name the facility, so it comes from
    the vetted list, never from free text. Checked against the settings in force at each request."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        code = super().to_internal_value(data)
        if code and facility_display_name(code) is None:
            raise serializers.ValidationError(facility_codes_message(), code="unknown_facility")
        return code


# Consent is the patient's own: the STOP and START texts change it (notifications/services/inbound.py), or staff in
# admin. WhatsApp, too, needs the patient's opt-in.
CONSENT_FIELD = "The patient's consent; changed only by the patient's own STOP or START texts, or by staff in admin."


# Nothing this product follows up happened before this: an earlier time is a typo (year 1), not a hospital stay.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _not_in_future(value: dt.datetime) -> dt.datetime:
    if value > timezone.now() + CLOCK_SKEW:
        raise serializers.ValidationError("Cannot be in the future.")
    if value < EARLIEST:
        raise serializers.ValidationError("Cannot be before the year 2000.")
    return value


class PatientSerializer(StrictModelSerializer):
    phone = PhoneNumberField(help_text="Any notation of a valid number; stored and returned in E.164.")
    facility = FacilityField(
        required=False,
        allow_blank=True,
        help_text="The facility that issued the MRN, a code of CARE_FACILITIES (the error lists them); required "
        "with `mrn`, refused without it.",
    )
    refused_fields = {"sms_consent": CONSENT_FIELD, "prefers_whatsapp": CONSENT_FIELD}

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
            "mrn",
            "facility",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "sms_consent", "sms_opted_out_at", "created_at", "updated_at"]
        # Not DRF's validator of the MRN's unique constraint (a 400 on non_field_errors): an MRN that exists is a 409
        # naming the patient, and patient_create decides it, race included.
        validators: list = []
        extra_kwargs = {
            "mrn": {
                "help_text": "The hospital's medical record number, optional; with `facility`. A patient with the same "
                "MRN and facility exists: 409 with its id in `error.existing_id`."
            },
            "first_name": {"help_text": "Given name."},
            "last_name": {"help_text": "Family name."},
            "date_of_birth": {"help_text": "YYYY-MM-DD; not in the future."},
            "timezone": {"help_text": "IANA name (e.g. America/New_York): messages avoid the patient's night."},
            "preferred_language": {
                "help_text": "BCP 47 tag of the messages' language, e.g. en, es.",
                "validators": [RegexValidator(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", "Use a BCP 47 tag, e.g. en, es.")],
            },
            "sms_consent": {
                "help_text": "May the patient be texted? True for a new patient; false once they text STOP, true again "
                "after START. Read-only: only the patient (or staff in admin) changes it."
            },
            "sms_opted_out_at": {"help_text": "When the patient texted STOP, if they did."},
            "id": {"help_text": "The patient's UUID."},
            "created_at": {"help_text": "When the patient was created (UTC)."},
            "updated_at": {"help_text": "When the patient last changed (UTC)."},
        }

    def validate_date_of_birth(self, value: dt.date) -> dt.date:
        if value > timezone.now().date() or value.year < 1900:
            raise serializers.ValidationError("Enter a date of birth between 1900 and today.")
        return value


class PatientLookupSerializer(StrictSerializer):
    """The query of GET patients/: any other parameter than these and the page's is refused (400 naming it)."""

    mrn = serializers.CharField(max_length=64, help_text="The medical record number; required.")
    facility = FacilityField(
        required=False, help_text="The code of the facility that issued it; absent: the MRN at any facility."
    )


class OutreachAttemptSerializer(serializers.ModelSerializer):
    """Read only: attempts are made by the check-in (docs/events.md)."""

    class Meta:
        model = OutreachAttempt
        fields = ["id", "attempt_number", "status", "scheduled_at", "attempted_at"]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "The attempt's UUID: pass it as `outreach_attempt_id` to POST interactions/."},
            "attempt_number": {"help_text": "1 for the first check-in of the plan, then 2, 3…"},
            "status": {
                "help_text": "PENDING, SENT (texted, waiting for an answer), ANSWERED, NO_ANSWER (a nurse will "
                "call), FAILED or CANCELLED (e.g. the patient opted out of SMS)."
            },
            "scheduled_at": {"help_text": "When the check-in was due (UTC)."},
            "attempted_at": {"help_text": "When the patient was texted (UTC); null if not yet."},
        }


class EpisodeSerializer(StrictModelSerializer):
    patient_id = UUIDRelatedField(source="patient", queryset=patient_list(), help_text="The patient's UUID.")
    facility = FacilityField(
        help_text="The hospital, a code of CARE_FACILITIES (the error lists them); the patient's check-in text "
        "names its display name."
    )
    current_outreach_attempt = serializers.SerializerMethodField(
        help_text="The latest check-in attempt of the episode's active outreach plan, or null (none yet, or the "
        "check-in was completed)."
    )

    class Meta:
        model = Episode
        fields = [
            "id",
            "patient_id",
            "admitted_at",
            "discharged_at",
            "condition",
            "facility",
            "current_outreach_attempt",
            "created_at",
        ]
        read_only_fields = ["id", "discharged_at", "created_at"]
        extra_kwargs = {
            "id": {"help_text": "The episode's UUID."},
            "admitted_at": {"help_text": "Admission time (ISO 8601 with an offset); not in the future."},
            "discharged_at": {"help_text": "Set by POST episodes/{id}/discharge/; null until then."},
            "condition": {"help_text": "Index condition: HF, COPD, AMI, PNA, CABG, THA_TKA or OTHER."},
            "created_at": {"help_text": "When the episode was created (UTC)."},
        }

    def validate_admitted_at(self, value: dt.datetime) -> dt.datetime:
        return _not_in_future(value)

    @extend_schema_field(OutreachAttemptSerializer(allow_null=True))
    def get_current_outreach_attempt(self, episode: Episode) -> dict[str, Any] | None:
        attempt = episode_current_outreach_attempt(episode)
        return None if attempt is None else OutreachAttemptSerializer(attempt).data


class DischargeSerializer(StrictSerializer):
    discharged_at = serializers.DateTimeField(
        required=False, help_text="When the patient left (ISO 8601); default now. Not before the admission."
    )

    def validate_discharged_at(self, value: dt.datetime) -> dt.datetime:
        return _not_in_future(value)


# A plain Serializer over tasks_app's EscalationTask, read through the reverse relation `tasks` of its foreign key to
# the interaction: care_events must not import tasks_app (docs/architecture.md#apps), and a ModelSerializer would
# have to. Its fields are spelled out here, so nothing of the task or its nurse shows unless it is listed.
class InteractionTaskSerializer(serializers.Serializer):
    """An escalation task as the agent sees it: what the patient can be told ("a nurse will call you by 3 pm"), and
    nothing of the nurse but her first name."""

    id = serializers.UUIDField(read_only=True, help_text="The task's UUID.")
    status = serializers.CharField(
        read_only=True,
        help_text="OPEN (waiting for a nurse on shift), ASSIGNED, ACKNOWLEDGED (the nurse has seen it), RESOLVED or "
        "CANCELLED.",
    )
    severity = serializers.CharField(read_only=True, help_text="LOW, MODERATE, HIGH or CRITICAL.")
    priority = serializers.CharField(read_only=True, help_text="LOW, NORMAL, HIGH or URGENT.")
    action_type = serializers.CharField(
        read_only=True, help_text="What the nurse will do, e.g. NURSE_CALLBACK_2H, URGENT_HANDOFF."
    )
    sla_breach_at = serializers.DateTimeField(
        read_only=True, help_text="When the nurse is due to act at the latest (UTC): the callback's due time."
    )
    assigned_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When a nurse took it (UTC); null while OPEN."
    )
    assigned_nurse_first_name = serializers.CharField(
        source="assigned_to.user.first_name",
        read_only=True,
        allow_null=True,
        help_text="The assigned nurse's first name, to tell the patient who will call; null while OPEN. Nothing "
        "else about her is shown.",
    )


def _response_task(response: InteractionResponse) -> Any:
    """The task a response escalated to (its source key), from the interaction's tasks (prefetched by the
    selectors), or None: a LOW response, or the escalation has not run yet."""
    source_key = f"response:{response.pk}"
    return next((task for task in response.interaction.tasks.all() if task.source_key == source_key), None)


class InteractionResponseSerializer(StrictModelSerializer):
    interaction_id = serializers.UUIDField(read_only=True, help_text="The interaction's UUID.")
    reason_codes = reason_codes_field(required=False, default=list)
    task = serializers.SerializerMethodField(
        help_text="The escalation task this response made (MODERATE and above), or null: none, or not yet. The "
        "task is made moments after the response is recorded, so it is usually null in the answer to the POST; "
        "read the interaction to see it."
    )

    class Meta:
        model = InteractionResponse
        fields = ["id", "interaction_id", "question", "text", "severity", "reason_codes", "received_at", "task"]
        read_only_fields = ["id", "received_at"]
        extra_kwargs = {
            "id": {"help_text": "The response's UUID."},
            "question": {
                "help_text": "What the agent asked, optional (nurses read it beside the answer; stored, never sent in "
                "events or logs).",
                "max_length": 1000,
            },
            "text": {"help_text": "What the patient said (stored; never sent in events or logs).", "max_length": 4000},
            "severity": {"help_text": "The agent's grading. MODERATE and above create an escalation task."},
            "received_at": {"help_text": "When it was recorded (UTC)."},
        }

    @extend_schema_field(InteractionTaskSerializer(allow_null=True))
    def get_task(self, response: InteractionResponse) -> dict[str, Any] | None:
        task = _response_task(response)
        return None if task is None else InteractionTaskSerializer(task).data


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
    tasks = InteractionTaskSerializer(
        many=True,
        read_only=True,
        help_text="The escalation tasks it caused (its responses' and the agent's flags and hand-offs), newest "
        "first. A task appears moments after its cause, OPEN, then ASSIGNED with the nurse's first name.",
    )

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
            "tasks",
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
        help_text="Your id for this event (e.g. the ADT message id), optional, scoped to you: another caller's "
        "same id is another event. Your id sent again with the same name and data answers as the first time; with "
        "another name or data it is 422 `event_id_reused`. Apart from ids, a repeated event is recognised by the "
        "fact it records: one discharge per episode, and a repeat answers with the first event.",
    )


class EventAcceptedSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The recorded event's UUID (the first one's, for a repeated id).")
    name = serializers.CharField(help_text="The event's name.")
    created_at = serializers.DateTimeField(help_text="When it was recorded (UTC).")
