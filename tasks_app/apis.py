"""Escalation tasks over the API: the agent's flags and hand-offs, the nurses' queue and its moves.

Thin: validate with a serializer, call one service, answer with a serializer. Each view names the permissions
each method needs (`required_perms`, care_events/platform/rest/permissions.py). Without `tasks_app.view_all_tasks` a
nurse reads
and moves only the tasks assigned to her (tasks_app/selectors.py); another nurse's task is 404.
"""

import uuid

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from care_events.platform.api_clients.idempotency import idempotent
from care_events.platform.rest.schema import request_example
from care_events.platform.rest.serializers import EmptySerializer
from care_events.platform.rest.throttling import ESCALATION_SCOPE, AgentEscalationRateThrottle
from care_events.selectors import interaction_list_for
from tasks_app.models import EscalationTask
from tasks_app.selectors import acting_nurse_for, task_list_for
from tasks_app.serializers import (
    CancelSerializer,
    FlagSerializer,
    HandoffSerializer,
    ReassignSerializer,
    ResolveSerializer,
    TaskFilterSerializer,
    TaskSerializer,
)
from tasks_app.services.escalation import interaction_flag_raise, interaction_handoff
from tasks_app.services.tasks import task_acknowledge, task_cancel, task_reassign, task_resolve


class AgentEscalationApi(APIView):
    """The agent's flags and hand-offs: a rate of their own (AGENT_ESCALATION_RATE_LIMIT, both endpoints together,
    on top of the client's), and a refusal by the escalation rules is a 409 naming why (tasks_app/services/
    escalation.py). 201 with the task created, or 200 with the open task a repeat was coalesced into."""

    required_perms = {"POST": ("care_events.record_interaction",)}
    throttle_classes = [*APIView.throttle_classes, AgentEscalationRateThrottle]
    throttle_scope = ESCALATION_SCOPE
    extra_error_codes = (409,)

    @staticmethod
    def answer(task: EscalationTask, created: bool) -> Response:
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


ESCALATION_LIMITS = (
    "Refused with 409 `interaction_completed` / `interaction_abandoned` once the interaction ended more than "
    "AGENT_LATE_FLAG_GRACE_MINUTES (10) ago, and `interaction_task_limit` / `episode_task_limit` when the open "
    "flags and hand-offs reach AGENT_OPEN_TASKS_PER_INTERACTION (3) / AGENT_OPEN_TASKS_PER_EPISODE (5). The same "
    "action and reason codes as an open flag of the episode raised within AGENT_FLAG_COALESCE_MINUTES (30), no more "
    "severe, answer 200 with that task. At most AGENT_ESCALATION_RATE_LIMIT (30/minute) of these requests (429)."
)


class InteractionFlagRaiseApi(AgentEscalationApi):
    @extend_schema(
        tags=["interactions"],
        operation_id="interaction_raise_flag",
        examples=[
            request_example(severity="HIGH", reason_codes=["HF_BREATHING_WORSE"], action_type="NURSE_CALLBACK_2H")
        ],
        summary="Raise a flag: create an escalation task (agent)",
        description="The task is created OPEN and then assigned round-robin to a nurse on shift, who is notified "
        "(`task/created`, `task/assigned`); its SLA timers start. The SLA and priority are the product's, from the "
        "severity and action (`priority` and `sla_minutes` are refused, 400). The interaction becomes ESCALATED. "
        + ESCALATION_LIMITS,
        request=FlagSerializer,
        responses={201: TaskSerializer, 200: TaskSerializer},
    )
    @idempotent
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        serializer = FlagSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        interaction = get_object_or_404(interaction_list_for(user=request.user), pk=pk)
        return self.answer(
            *interaction_flag_raise(interaction=interaction, **serializer.validated_data, actor=request.user)
        )


class InteractionHandoffApi(AgentEscalationApi):
    @extend_schema(
        tags=["interactions"],
        operation_id="interaction_handoff",
        examples=[request_example(reason="PATIENT_REQUEST")],
        summary="Hand the patient off to a nurse now (agent)",
        description="Creates an URGENT_HANDOFF task of priority URGENT (severity CRITICAL unless given: SLA "
        "30 min); the assigned nurse gets an urgent hand-off message. The interaction becomes ESCALATED. "
        + ESCALATION_LIMITS,
        request=HandoffSerializer,
        responses={201: TaskSerializer, 200: TaskSerializer},
    )
    @idempotent
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        serializer = HandoffSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        interaction = get_object_or_404(interaction_list_for(user=request.user), pk=pk)
        return self.answer(
            *interaction_handoff(interaction=interaction, **serializer.validated_data, actor=request.user)
        )


@extend_schema_view(
    get=extend_schema(
        tags=["tasks"],
        operation_id="task_list",
        summary="List tasks: a nurse's own, or all for charge nurses",
        description="Newest first, paginated.",
        parameters=[TaskFilterSerializer],
    )
)
class TaskListApi(ListAPIView):
    required_perms = {"GET": ("tasks_app.view_escalationtask",)}
    serializer_class = TaskSerializer

    def get_queryset(self) -> QuerySet[EscalationTask]:
        # A plain dict, not the QueryDict: DRF reads an empty `?status=` from a QueryDict as "not given".
        filters = TaskFilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        return task_list_for(user=self.request.user, **filters.validated_data)


@extend_schema_view(
    get=extend_schema(tags=["tasks"], operation_id="task_read", summary="Read a task (its assignee, charge nurses)")
)
class TaskDetailApi(RetrieveAPIView):
    required_perms = {"GET": ("tasks_app.view_escalationtask",)}
    serializer_class = TaskSerializer

    def get_queryset(self) -> QuerySet[EscalationTask]:
        return task_list_for(user=self.request.user)


class TaskMoveApi(APIView):
    """A move of a task's state: a move its state does not allow (TaskStateError) is 409."""

    extra_error_codes = (409,)

    def get_task(self, pk: uuid.UUID) -> EscalationTask:
        return get_object_or_404(task_list_for(user=self.request.user), pk=pk)


class TaskAcknowledgeApi(TaskMoveApi):
    required_perms = {"POST": ("tasks_app.acknowledge_task",)}

    @extend_schema(
        tags=["tasks"],
        operation_id="task_acknowledge",
        summary="Acknowledge a task (its assignee, charge nurses)",
        description="ASSIGNED → ACKNOWLEDGED (`task/acknowledged`); acknowledging again changes nothing.",
        request=EmptySerializer,
        responses={200: TaskSerializer},
    )
    @idempotent
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        EmptySerializer(data=request.data).is_valid(raise_exception=True)
        task = self.get_task(pk)
        task = task_acknowledge(task=task, nurse=acting_nurse_for(user=request.user), actor=request.user)
        return Response(TaskSerializer(self.get_task(task.pk)).data)


class TaskResolveApi(TaskMoveApi):
    required_perms = {"POST": ("tasks_app.resolve_task",)}

    @extend_schema(
        tags=["tasks"],
        operation_id="task_resolve",
        examples=[request_example(resolution="Called the patient; diuretic dose adjusted with the cardiologist.")],
        summary="Resolve a task (its assignee, charge nurses)",
        description="Open → RESOLVED (`task/resolved`); its SLA warning and breach are cancelled.",
        request=ResolveSerializer,
        responses={200: TaskSerializer},
    )
    @idempotent
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = task_resolve(task=self.get_task(pk), **serializer.validated_data, actor=request.user)
        return Response(TaskSerializer(self.get_task(task.pk)).data)


class TaskReassignApi(TaskMoveApi):
    required_perms = {"POST": ("tasks_app.reassign_task",)}

    @extend_schema(
        tags=["tasks"],
        operation_id="task_reassign",
        examples=[request_example(nurse_id=None)],
        summary="Reassign a task (charge nurses)",
        description="To the named nurse (`task/reassigned`), who must be active, on shift now and under her limit "
        "of open tasks (409 naming which is not so; `allow_over_limit: true` confirms going over her limit), or, "
        "with nurse_id null or absent, to the next nurse on shift other than the current one (the task stays OPEN "
        "if there is none). The SLA deadlines stay; the acknowledgement does not carry over (the task is ASSIGNED "
        "and waits for its new nurse to acknowledge).",
        request=ReassignSerializer,
        responses={200: TaskSerializer},
    )
    @idempotent
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        serializer = ReassignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = task_reassign(
            task=self.get_task(pk),
            nurse=serializer.validated_data.get("nurse"),
            actor=request.user,
            allow_over_limit=serializer.validated_data["allow_over_limit"],
        )
        return Response(TaskSerializer(self.get_task(task.pk)).data)


class TaskCancelApi(TaskMoveApi):
    required_perms = {"POST": ("tasks_app.cancel_task",)}

    @extend_schema(
        tags=["tasks"],
        operation_id="task_cancel",
        examples=[request_example(reason="Duplicate of another task for the same call.")],
        summary="Cancel a task (charge nurses)",
        description="Open → CANCELLED (`task/cancelled`) for a task that needs no action; its SLA warning and breach "
        "are cancelled. A resolved or cancelled task is 409.",
        request=CancelSerializer,
        responses={200: TaskSerializer},
    )
    @idempotent
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = task_cancel(task=self.get_task(pk), **serializer.validated_data, actor=request.user)
        return Response(TaskSerializer(self.get_task(task.pk)).data)
