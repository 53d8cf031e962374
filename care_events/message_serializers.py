"""The bodies of what the agent reads of the patient's own texts: an episode's interactions with their latest
texts, the feed of every text since a cursor (docs/api.md#a-patients-text)."""

import base64
import binascii
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from care_events.choices import Severity
from care_events.models import AgentInteraction, MessageHandledHow, PatientMessage
from care_events.platform.rest.serializers import StrictSerializer

LATEST_MESSAGES = 5
MAX_LIMIT = 200
_CURSOR_PREFIX = "pm1:"


def message_cursor(seq: int) -> str:
    """Opaque to the agent: base64url of a versioned position, so its shape can change without breaking anyone."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def cursor_position(cursor: str) -> int:
    """The position a cursor names, or ValueError."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(cursor) from None
    number = raw.removeprefix(_CURSOR_PREFIX)
    if not raw.startswith(_CURSOR_PREFIX) or not (number.isascii() and number.isdigit()):
        raise ValueError(cursor)
    return int(number)


class PatientMessageSerializer(serializers.ModelSerializer):
    """Read only: the patient's texts are written by Twilio's inbound webhook, never through the API."""

    interaction_id = serializers.UUIDField(read_only=True, help_text="The interaction it was recorded on.")
    handled_how = serializers.ChoiceField(
        choices=MessageHandledHow.choices,
        allow_blank=True,
        read_only=True,
        help_text="AGENT_RESPONSE, AGENT_COMPLETED, AGENT_MARKED or NURSE_TASK; empty while nobody acted.",
    )
    cursor = serializers.SerializerMethodField(
        help_text="Pass as `after` to GET patient-messages/ to read the texts that came after this one."
    )

    class Meta:
        model = PatientMessage
        fields = ["id", "interaction_id", "text", "received_at", "red_flag", "handled_at", "handled_how", "cursor"]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "The message's UUID (the `message_id` of `interaction/patient_replied`)."},
            "text": {"help_text": "What the patient texted, as received (never a keyword: STOP, START, HELP…)."},
            "received_at": {"help_text": "When it reached us (UTC)."},
            "red_flag": {"help_text": "It holds a red-flag phrase: a HIGH nurse task was made at once."},
            "handled_at": {
                "help_text": "When someone acted on it (a response or completion of yours after it, your "
                "POST patient-messages/{id}/handled/, or a nurse task); null: nobody yet, and a nurse reviews it "
                "REPLY_REVIEW_AFTER_MINUTES after it came."
            },
        }

    def get_cursor(self, message: PatientMessage) -> str:
        return message_cursor(message.seq)


class FeedMessageSerializer(PatientMessageSerializer):
    episode_id = serializers.UUIDField(source="interaction.episode_id", read_only=True, help_text="Its episode.")
    patient_id = serializers.UUIDField(source="interaction.episode.patient_id", read_only=True, help_text="Who texted.")

    class Meta(PatientMessageSerializer.Meta):
        fields = [*PatientMessageSerializer.Meta.fields, "episode_id", "patient_id"]
        read_only_fields = fields


class MessageFeedQuerySerializer(StrictSerializer):
    """The query of GET patient-messages/: any other parameter is refused (400 naming it)."""

    after = serializers.CharField(
        required=False,
        help_text="A `cursor` (of a message, or the `next_cursor` of a page); absent: from the first text.",
    )
    # A string, as every query parameter is (the strict serializer refuses a string for an IntegerField).
    limit = serializers.CharField(required=False, default="50", help_text="At most this many (default 50, max 200).")

    def validate_limit(self, value: str) -> int:
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_LIMIT):
            raise serializers.ValidationError(f"Must be an integer from 1 to {MAX_LIMIT}.")
        return int(value)

    def validate_after(self, value: str) -> int:
        try:
            return cursor_position(value)
        except ValueError:
            raise serializers.ValidationError("Not a cursor this API gave; pass a `cursor` or `next_cursor`.") from None


class MessageFeedSerializer(serializers.Serializer):
    results = FeedMessageSerializer(many=True, help_text="The texts after `after`, oldest first.")
    next_cursor = serializers.CharField(
        allow_null=True,
        help_text="Pass as `after` for the next page; the same as `after` when nothing new came (poll again).",
    )
    has_more = serializers.BooleanField(help_text="More texts wait: ask again at once with `next_cursor`.")


class EpisodeInteractionSerializer(serializers.ModelSerializer):
    outreach_attempt_id = serializers.UUIDField(read_only=True, allow_null=True, help_text="Its check-in attempt.")
    severity = serializers.ChoiceField(
        choices=Severity.choices,
        allow_blank=True,
        read_only=True,
        help_text="The highest severity among its responses; empty before the first.",
    )
    latest_messages = serializers.SerializerMethodField(
        help_text=f"The patient's latest texts in it, newest first (at most {LATEST_MESSAGES}); all of them: "
        "GET interactions/{id}/messages/."
    )
    unhandled_messages = serializers.SerializerMethodField(help_text="How many of its texts nobody acted on yet.")

    class Meta:
        model = AgentInteraction
        fields = [
            "id",
            "outreach_attempt_id",
            "status",
            "severity",
            "started_at",
            "last_response_at",
            "completed_at",
            "latest_messages",
            "unhandled_messages",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "The interaction's UUID."},
            "status": {"help_text": "IN_PROGRESS, ESCALATED (a task was created), COMPLETED or ABANDONED."},
            "started_at": {"help_text": "UTC; for one a text opened, when the text came."},
            "last_response_at": {"help_text": "UTC; null before the first response."},
            "completed_at": {"help_text": "UTC; null until completed."},
        }

    @extend_schema_field(PatientMessageSerializer(many=True))
    def get_latest_messages(self, interaction: AgentInteraction) -> list[dict[str, Any]]:
        # Prefetched newest first by the selector (episode_interactions).
        latest = list(interaction.patient_messages.all())[:LATEST_MESSAGES]
        return list(PatientMessageSerializer(latest, many=True).data)

    def get_unhandled_messages(self, interaction: AgentInteraction) -> int:
        return sum(1 for message in interaction.patient_messages.all() if message.handled_at is None)
