"""The event catalogue: the seed's 18 event types and those added since, each with a typed payload schema.

Payloads carry ids and codes only (never names, phone numbers or message bodies: events ride through Celery and
show in Flower and admin). Each schema is a DRF serializer: one mechanism for every event, and its errors name
the field. `external` marks the events an outside caller (the interaction agent, an operator) may send through
`POST /api/v1/events/`; the others are emitted only by the system itself.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from care_events.choices import NotificationType, Severity
from care_events.models import Episode

URGENT = "urgent"
DEFAULT = "default"
# The sweep, the relays and the timers' horizon job: their own queue and worker (CELERY_TASK_ROUTES).
BACKSTOP = "backstop"


class Payload(serializers.Serializer):
    """Refuses keys the schema does not know, so a typo is an error rather than a silently dropped field."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return attrs


class TaskPayload(Payload):
    task_id = serializers.UUIDField()


class TaskAssignedPayload(TaskPayload):
    nurse_id = serializers.IntegerField(min_value=1)


class TaskReassignedPayload(TaskPayload):
    from_nurse_id = serializers.IntegerField(min_value=1, allow_null=True)
    to_nurse_id = serializers.IntegerField(min_value=1)


class NotificationSendPayload(Payload):
    notification_type = serializers.ChoiceField(choices=NotificationType.choices)
    dedupe_key = serializers.CharField(max_length=200)  # names the logical message: care_events/notify.py
    recipient_nurse_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    recipient_patient_id = serializers.UUIDField(required=False, allow_null=True)
    task_id = serializers.UUIDField(required=False, allow_null=True)
    episode_id = serializers.UUIDField(required=False, allow_null=True)
    urgent = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if bool(attrs.get("recipient_nurse_id")) == bool(attrs.get("recipient_patient_id")):
            raise serializers.ValidationError(
                {"recipient_nurse_id": ["Give exactly one of recipient_nurse_id and recipient_patient_id."]}
            )
        return attrs


class NotificationPayload(Payload):
    notification_id = serializers.UUIDField()


class NotificationFailedPayload(NotificationPayload):
    error_code = serializers.CharField(max_length=50, allow_blank=True)


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


@dataclass(frozen=True)
class EventType:
    name: str
    payload: type[Payload]
    description: str
    external: bool = False


CATALOGUE: dict[str, EventType] = {
    event.name: event
    for event in [
        EventType("task/created", TaskPayload, "An escalation task was created (assign it; start its SLA timers)."),
        EventType("task/assigned", TaskAssignedPayload, "A task was assigned to a nurse."),
        EventType("task/reassigned", TaskReassignedPayload, "Staff moved a task to another nurse."),
        EventType("task/acknowledged", TaskAssignedPayload, "The assignee acknowledged the task."),
        EventType("task/resolved", TaskPayload, "The task was resolved; its SLA timers are cancelled."),
        EventType("task/cancelled", TaskPayload, "The task was cancelled; its SLA timers are cancelled."),
        EventType("task/sla_warning", TaskPayload, "75 % of the task's SLA has passed and it is still open."),
        EventType("task/sla_breach", TaskPayload, "The task's SLA has passed and it is still open."),
        EventType("notification/send", NotificationSendPayload, "Send one notification to one recipient."),
        EventType("notification/delivered", NotificationPayload, "The provider accepted or delivered a message."),
        EventType("notification/failed", NotificationFailedPayload, "A message failed for good."),
        EventType("notification/read", NotificationPayload, "The recipient read the notification."),
        EventType(
            "patient/discharged",
            DischargedPayload,
            "A patient was discharged; schedule the check-in.",
            external=True,
        ),
        EventType("checkin/scheduled", CheckinScheduledPayload, "The check-in plan and attempt were created."),
        EventType("checkin/completed", CheckinCompletedPayload, "The agent completed a check-in interaction."),
        EventType(
            "checkin/no_answer",
            CheckinNoAnswerPayload,
            "A check-in got no answer in time, or the patient cannot be texted: a nurse must call.",
        ),
        EventType("interaction/response_received", ResponseReceivedPayload, "The agent recorded a response."),
        EventType(
            "interaction/escalated",
            InteractionEscalatedPayload,
            "An escalation task was created for an interaction: by a response of severity MODERATE or above, or "
            "by the agent's flag or handoff.",
        ),
        EventType(
            "interaction/patient_replied",
            PatientRepliedPayload,
            "The patient texted a reply (not a keyword); recorded for the agent.",
        ),
    ]
}
