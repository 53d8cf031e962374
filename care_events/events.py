"""The events of the care domain: discharges, check-ins and the agent's interactions (docs/events.md)."""

import uuid

from rest_framework import serializers

from care_events.choices import Severity
from care_events.models import Episode
from care_events.platform.bus.catalogue import EventType, Payload, register


class EpisodePayload(Payload):
    episode_id = serializers.UUIDField()


class DischargedPayload(EpisodePayload):
    """External callers send this one: an episode that does not exist is refused here, not in a worker later."""

    def validate_episode_id(self, value: uuid.UUID) -> uuid.UUID:
        if not Episode.objects.filter(pk=value).exists():
            raise serializers.ValidationError("No episode has this id.")
        return value


class CheckinScheduledPayload(EpisodePayload):
    outreach_plan_id = serializers.UUIDField()
    outreach_attempt_id = serializers.UUIDField()


class CheckinSentPayload(EpisodePayload):
    outreach_attempt_id = serializers.UUIDField()
    answer_by = serializers.DateTimeField()  # the no-answer timer: unanswered by then, a nurse is asked to call


class CheckinNoAnswerPayload(EpisodePayload):
    outreach_attempt_id = serializers.UUIDField(required=False, allow_null=True)
    reason = serializers.ChoiceField(choices=["NO_RESPONSE", "SMS_OPT_OUT"], default="NO_RESPONSE")


class CheckinCompletedPayload(EpisodePayload):
    interaction_id = serializers.UUIDField()


class ResponseReceivedPayload(Payload):
    interaction_id = serializers.UUIDField()
    response_id = serializers.UUIDField()
    severity = serializers.ChoiceField(choices=Severity.values)


class InteractionEscalatedPayload(Payload):
    interaction_id = serializers.UUIDField()
    response_id = serializers.UUIDField(allow_null=True)  # null when the agent raised a flag or handed off
    severity = serializers.ChoiceField(choices=Severity.values)
    task_id = serializers.UUIDField()


class PatientRepliedPayload(Payload):
    interaction_id = serializers.UUIDField()
    message_id = serializers.UUIDField()  # a PatientMessage: the text itself stays on the row, never in the event


# `key_prefix`: each event is once per fact (the ids `emit(once_for=...)` is given, named after each event), keyed
# with the prefix its stored keys have (care_events/platform/bus/catalogue.py).
register(
    EventType(
        "patient/discharged",
        DischargedPayload,
        "A patient was discharged; schedule the check-in.",
        external=True,
        key_prefix="discharged",  # once per episode
    ),
    EventType(
        "checkin/scheduled",
        CheckinScheduledPayload,
        "The check-in plan and attempt were created.",
        key_prefix="checkin-scheduled",  # once per outreach attempt
    ),
    EventType(
        "checkin/sent",
        CheckinSentPayload,
        "The check-in text was queued for the patient (not when the patient opted out of SMS): an answer is "
        "awaited until answer_by.",
        key_prefix="checkin-sent",  # once per outreach attempt
    ),
    EventType(
        "checkin/completed",
        CheckinCompletedPayload,
        "The agent completed a check-in interaction.",
        key_prefix="checkin-completed",  # once per interaction
    ),
    EventType(
        "checkin/no_answer",
        CheckinNoAnswerPayload,
        "A check-in got no answer in time, or the patient cannot be texted: a nurse must call.",
        key_prefix="no-answer",  # once per outreach attempt
    ),
    EventType(
        "interaction/response_received",
        ResponseReceivedPayload,
        "The agent recorded a response.",
        key_prefix="response",  # once per response
    ),
    EventType(
        "interaction/escalated",
        InteractionEscalatedPayload,
        "An escalation task was created for an interaction: by a response of severity MODERATE or above, or "
        "by the agent's flag or handoff.",
        key_prefix="escalated",  # once per task
    ),
    EventType(
        "interaction/patient_replied",
        PatientRepliedPayload,
        "The patient texted a reply (not a keyword); recorded for the agent.",
        key_prefix="patient-replied",  # once per patient message
    ),
)
