"""The tasks API's bodies: escalation tasks, the agent's flags and hand-offs, the nurses' moves."""

from rest_framework import serializers

from care_events.choices import Severity
from care_events.models import Patient
from care_events.platform.rest.serializers import ReasonCodeField, StrictSerializer, reason_codes_field
from tasks_app.models import ActionType, EscalationTask, Nurse, Priority, ResolutionOutcome, TaskNote, TaskStatus


class TaskPatientSerializer(serializers.ModelSerializer):
    """Who to call back: shown to the task's assignee and to staff only."""

    class Meta:
        model = Patient
        fields = ["id", "first_name", "last_name", "phone", "preferred_language"]
        extra_kwargs = {
            "id": {"help_text": "The patient's UUID."},
            "first_name": {"help_text": "Given name."},
            "last_name": {"help_text": "Family name."},
        }


class TaskNoteSerializer(serializers.ModelSerializer):
    """A note or a call attempt on the task (the task page's *Note a call or add a note*)."""

    author = serializers.CharField(source="author.get_full_name", read_only=True, help_text="Who wrote it.")

    class Meta:
        model = TaskNote
        fields = ["created_at", "author", "call_outcome", "retry_at", "text"]
        read_only_fields = fields
        extra_kwargs = {
            "created_at": {"help_text": "UTC."},
            "call_outcome": {"help_text": "How the call went; empty: a note, not a call attempt."},
            "retry_at": {"help_text": "When the nurse means to call again (UTC), if she said."},
            "text": {"help_text": "The nurse's note, if she wrote one."},
        }


class TaskSerializer(serializers.ModelSerializer):
    episode_id = serializers.UUIDField(read_only=True, help_text="The episode's UUID.")
    interaction_id = serializers.UUIDField(
        read_only=True, allow_null=True, help_text="The interaction that raised it, if any."
    )
    patient = TaskPatientSerializer(read_only=True, help_text="The patient to call back.")
    assigned_to = serializers.IntegerField(
        source="assigned_to_id", read_only=True, allow_null=True, help_text="The assignee nurse's id; null while OPEN."
    )
    outcome = serializers.SlugRelatedField(
        source="resolution_outcome",
        slug_field="code",
        read_only=True,
        allow_null=True,
        help_text="The structured outcome it was resolved with (e.g. advice-given, referred-to-ed); null if none.",
    )
    notes = TaskNoteSerializer(many=True, read_only=True, help_text="Notes and call attempts, oldest first.")

    class Meta:
        model = EscalationTask
        fields = [
            "id",
            "episode_id",
            "interaction_id",
            "patient",
            "status",
            "priority",
            "severity",
            "reason_codes",
            "action_type",
            "sla_minutes",
            "sla_warning_at",
            "sla_breach_at",
            "assigned_to",
            "assigned_at",
            "acknowledged_at",
            "resolved_at",
            "cancelled_at",
            "resolution",
            "outcome",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "The task's UUID."},
            "status": {
                "help_text": "OPEN (waiting for a nurse on shift) → ASSIGNED → ACKNOWLEDGED → RESOLVED, or CANCELLED."
            },
            "priority": {"help_text": "LOW, NORMAL, HIGH or URGENT."},
            "severity": {"help_text": "LOW, MODERATE, HIGH or CRITICAL."},
            "reason_codes": {"help_text": "Why the task exists, as codes."},
            "action_type": {"help_text": "What the nurse must do."},
            "sla_minutes": {"help_text": "Minutes from creation within which the nurse must act."},
            "sla_warning_at": {"help_text": "75 % of the SLA: the assignee is warned if the task is still open."},
            "sla_breach_at": {"help_text": "100 % of the SLA: assignee and supervisors are alerted."},
            "assigned_at": {"help_text": "UTC; null while OPEN."},
            "acknowledged_at": {"help_text": "UTC."},
            "resolved_at": {"help_text": "UTC."},
            "cancelled_at": {"help_text": "UTC."},
            "resolution": {"help_text": "What the nurse did, given on resolve."},
            "created_at": {"help_text": "UTC; the SLA runs from here."},
            "updated_at": {"help_text": "UTC."},
        }


# The product sets a task's SLA and priority from its severity and action (tasks_app/services/tasks.py); an agent
# that could choose them could make every flag a one-minute URGENT call.
SET_BY_THE_PRODUCT = "Set by the product from the severity and the action; the agent cannot choose it."


class FlagSerializer(StrictSerializer):
    severity = serializers.ChoiceField(
        choices=Severity.choices,
        help_text="The agent's grading of the finding; with the action it sets the SLA and priority: CRITICAL 30 min "
        "URGENT, HIGH 2 h HIGH, MODERATE 8 h NORMAL, LOW 24 h LOW (NURSE_CALLBACK_2H at most 2 h; never under "
        "MIN_TASK_SLA_MINUTES).",
    )
    reason_codes = reason_codes_field(allow_empty=False)
    action_type = serializers.ChoiceField(choices=ActionType.choices, help_text="What the nurse must do.")
    refused_fields = {"priority": SET_BY_THE_PRODUCT, "sla_minutes": SET_BY_THE_PRODUCT}


class HandoffSerializer(StrictSerializer):
    reason = ReasonCodeField(help_text="Why, as a code, e.g. PATIENT_REQUEST, AMI_CHEST_PAIN.")
    severity = serializers.ChoiceField(
        choices=Severity.choices,
        default=Severity.CRITICAL,
        help_text="Default CRITICAL (SLA 30 min). The task is always URGENT_HANDOFF, priority URGENT.",
    )
    refused_fields = FlagSerializer.refused_fields


class ResolveSerializer(StrictSerializer):
    resolution = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="What was done (e.g. called, advised, referred). Optional with an `outcome`.",
    )
    outcome = serializers.SlugRelatedField(
        slug_field="code",
        queryset=ResolutionOutcome.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        default=None,
        help_text="A structured outcome's code (admin's *Resolution outcomes*: advice-given, medication-change, "
        "appointment-made, referred-to-ed, readmitted, no-action-needed). Give it, a `resolution`, or both.",
    )


class CancelSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Why no action is needed (e.g. a duplicate task).")


class ReassignSerializer(StrictSerializer):
    nurse_id = serializers.PrimaryKeyRelatedField(
        source="nurse",
        queryset=Nurse.objects.all(),
        required=False,
        allow_null=True,
        help_text="The nurse to give the task to; null or absent: the next nurse on shift (round-robin), "
        "not the current assignee.",
    )
    allow_over_limit = serializers.BooleanField(
        default=False,
        help_text="The charge nurse confirms giving the named nurse more open tasks than her limit (a 409 said she "
        "is at it). A nurse off shift or inactive is refused even so.",
    )


class TaskFilterSerializer(serializers.Serializer):
    """Query parameters of the task list (other parameters are ignored, as query strings usually are)."""

    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False, help_text="Only tasks in it.")
    priority = serializers.ChoiceField(choices=Priority.choices, required=False, help_text="Only tasks of it.")
