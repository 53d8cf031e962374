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


register(
    EventType("task/created", TaskPayload, "An escalation task was created (assign it; start its SLA timers)."),
    EventType("task/assigned", TaskAssignedPayload, "A task was assigned to a nurse."),
    EventType("task/reassigned", TaskReassignedPayload, "Staff moved a task to another nurse."),
    EventType("task/acknowledged", TaskAssignedPayload, "The assignee acknowledged the task."),
    EventType("task/resolved", TaskPayload, "The task was resolved; its SLA timers are cancelled."),
    EventType("task/cancelled", TaskPayload, "The task was cancelled; its SLA timers are cancelled."),
    EventType("task/sla_warning", TaskPayload, "75 % of the task's SLA has passed and it is still open."),
    EventType("task/sla_breach", TaskPayload, "The task's SLA has passed and it is still open."),
)
