"""The events of escalation tasks (docs/events.md)."""

from rest_framework import serializers

from care_events.platform.bus.catalogue import EventType, Payload, register


class TaskPayload(Payload):
    task_id = serializers.UUIDField()


class TaskAssignedPayload(TaskPayload):
    nurse_id = serializers.IntegerField(min_value=1)


class TaskReassignedPayload(TaskPayload):
    from_nurse_id = serializers.IntegerField(min_value=1, allow_null=True)
    to_nurse_id = serializers.IntegerField(min_value=1)
    # Why it changed hands (tasks_app.models.HandOverReason); absent on events recorded before reasons were kept.
    reason = serializers.CharField(required=False, allow_blank=True, max_length=20)


class TaskUnassignedPayload(TaskPayload):
    from_nurse_id = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=20)


# Each event once per task (`emit(once_for=(task_id,))`), an assignment once per (task, nurse, moment), keyed with
# the prefix their stored keys have (care_events/platform/bus/catalogue.py). An assignment is either the first or a
# reassignment, so both share one prefix.
register(
    EventType(
        "task/created",
        TaskPayload,
        "An escalation task was created (assign it; start its SLA timers).",
        key_prefix="task-created",
    ),
    EventType("task/assigned", TaskAssignedPayload, "A task was assigned to a nurse.", key_prefix="assigned"),
    EventType(
        "task/reassigned",
        TaskReassignedPayload,
        "A task moved to another nurse (`reason`: staff, round-robin, shift ended, nurse deactivated, not "
        "acknowledged).",
        key_prefix="assigned",
    ),
    EventType(
        "task/handed_back",
        TaskUnassignedPayload,
        "A task's nurse left (shift ended, deactivated) and nobody on shift could take it: it is unassigned again.",
    ),
    EventType(
        "task/ack_escalated",
        TaskAssignedPayload,
        "An assigned task was not acknowledged in time and was handed on; the charge nurses were alerted.",
    ),
    EventType(
        "task/acknowledged", TaskAssignedPayload, "The assignee acknowledged the task.", key_prefix="acknowledged"
    ),
    EventType(
        "task/resolved", TaskPayload, "The task was resolved; its SLA timers are cancelled.", key_prefix="resolved"
    ),
    EventType(
        "task/cancelled", TaskPayload, "The task was cancelled; its SLA timers are cancelled.", key_prefix="cancelled"
    ),
    EventType("task/sla_warning", TaskPayload, "75 % of the task's SLA has passed and it is still open."),
    EventType("task/sla_breach", TaskPayload, "The task's SLA has passed and it is still open."),
)
