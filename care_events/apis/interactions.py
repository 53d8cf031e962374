"""The interaction agent's endpoints for interactions: start one, record the patient's responses, read what the
patient texted, complete the check-in. Thin, as care_events/apis/patients.py says.
"""

import uuid

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from care_events.message_serializers import PatientMessageSerializer
from care_events.models import AgentInteraction, InteractionResponse, PatientMessage
from care_events.platform.api_clients.idempotency import idempotent
from care_events.platform.rest.lookup import require_in_reach
from care_events.platform.rest.schema import EXAMPLE_ID, request_example
from care_events.selectors import (
    interaction_list_for,
    interaction_response_list,
    interaction_responses,
    patient_message_list,
)
from care_events.serializers import (
    InteractionCompleteSerializer,
    InteractionResponseSerializer,
    InteractionSerializer,
)
from care_events.services.interactions import interaction_complete, interaction_response_record, interaction_start


class InteractionStartApi(APIView):
    required_perms = {"POST": ("care_events.record_interaction",)}

    @extend_schema(
        tags=["interactions"],
        operation_id="interaction_start",
        examples=[request_example(episode_id=EXAMPLE_ID)],
        summary="Start an interaction (agent)",
        description="Started after the episode's discharge, it means the patient was reached: a check-in not yet "
        "sent is cancelled, and a check-in already sent counts as answered (no nurse call for no answer).",
        request=InteractionSerializer,
        responses={201: InteractionSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = InteractionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        interaction = interaction_start(
            episode=serializer.validated_data["episode"],
            outreach_attempt=serializer.validated_data.get("outreach_attempt"),
        )
        return Response(InteractionSerializer(interaction).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        tags=["interactions"],
        operation_id="interaction_read",
        summary="Read an interaction, its responses and its escalation tasks (agent, nurses)",
        description="`tasks` shows each task this interaction caused, with its due time (`sla_breach_at`) and the "
        "assigned nurse's first name, so the agent can tell the patient who will call and by when.",
    )
)
class InteractionDetailApi(RetrieveAPIView):
    required_perms = {"GET": ("care_events.view_agentinteraction", "care_events.view_interactionresponse")}
    serializer_class = InteractionSerializer

    def get_queryset(self) -> QuerySet[AgentInteraction]:
        return interaction_list_for(user=self.request.user)


@extend_schema_view(
    get=extend_schema(
        tags=["interactions"],
        operation_id="interaction_messages",
        summary="Read what the patient texted (agent, nurses)",
        description="The patient's own texts in this interaction (every text that is not a keyword such as STOP, "
        "START or HELP), oldest first, paginated. A text is put on the open interaction of the patient's latest "
        "discharged episode, or on a new one tied to the check-in it answers (`interaction/patient_replied`, "
        "sent to your webhook). It is an answer to the check-in once someone acted on it: docs/api.md.",
        parameters=[
            OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The interaction's UUID.")
        ],
    )
)
class InteractionMessageListApi(ListAPIView):
    required_perms = {"GET": ("care_events.view_agentinteraction", "care_events.view_patientmessage")}
    serializer_class = PatientMessageSerializer
    # A path with an id documents 404 only; this list also answers 400 to a bad ?page or ?page_size.
    extra_error_codes = (400,)

    def get_queryset(self) -> QuerySet[PatientMessage]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the model: no request, no id
            return PatientMessage.objects.none()
        pk = self.kwargs["pk"]
        require_in_reach(interaction_list_for(user=self.request.user), pk)
        return patient_message_list(interaction_id=pk)


@extend_schema_view(
    get=extend_schema(
        tags=["interactions"],
        operation_id="interaction_responses",
        summary="List an interaction's responses (agent, staff)",
        description="Oldest first, paginated, each with the task it escalated to. An interaction holds at most "
        "AGENT_RESPONSES_PER_INTERACTION (200) responses.",
        parameters=[
            OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The interaction's UUID.")
        ],
    )
)
class InteractionResponseListCreateApi(ListAPIView):
    serializer_class = InteractionResponseSerializer
    # A list also answers 400 to a bad ?page or ?page_size; a response past the cap is a 409.
    extra_error_codes = (400, 409)

    required_perms = {
        "GET": ("care_events.view_interactionresponse",),
        "POST": ("care_events.record_interaction",),
    }

    def get_queryset(self) -> QuerySet[InteractionResponse]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the model: no request, no id
            return InteractionResponse.objects.none()
        pk = self.kwargs["pk"]
        require_in_reach(interaction_list_for(user=self.request.user), pk)
        return interaction_responses(interaction_id=pk)

    @extend_schema(
        tags=["interactions"],
        operation_id="interaction_response_record",
        examples=[
            request_example(
                question="Has your weight changed since yesterday?",
                text="I gained four pounds since yesterday.",
                severity="HIGH",
                reason_codes=["HF_WEIGHT_GAIN"],
            )
        ],
        summary="Record a patient's response (agent)",
        description="Emits `interaction/response_received`. MODERATE, HIGH and CRITICAL escalate: a task is "
        "created and assigned to a nurse on shift (`interaction/escalated`, `task/created`); the response's `task` "
        "shows it once made (moments later: read the interaction). Refused (400, field `interaction`) once the "
        "interaction is completed or abandoned, and (409 `interaction_response_limit`) past "
        "AGENT_RESPONSES_PER_INTERACTION (200) responses.",
        request=InteractionResponseSerializer,
        responses={201: InteractionResponseSerializer},
    )
    @idempotent
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        serializer = InteractionResponseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        interaction = get_object_or_404(interaction_list_for(user=request.user), pk=pk)
        response = interaction_response_record(interaction=interaction, **serializer.validated_data, actor=request.user)
        response = interaction_response_list().get(pk=response.pk)
        return Response(InteractionResponseSerializer(response).data, status=status.HTTP_201_CREATED)


class InteractionCompleteApi(APIView):
    required_perms = {"POST": ("care_events.record_interaction",)}

    @extend_schema(
        tags=["interactions"],
        operation_id="interaction_complete",
        examples=[request_example(outcome="PATIENT_OK", summary="Feels well; medications filled.")],
        summary="Complete the check-in (agent)",
        description="Emits `checkin/completed` and closes the episode's outreach plan. Completing again changes "
        "nothing.",
        request=InteractionCompleteSerializer,
        responses={200: InteractionSerializer},
    )
    @idempotent
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        serializer = InteractionCompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        interaction = get_object_or_404(interaction_list_for(user=request.user), pk=pk)
        interaction = interaction_complete(interaction=interaction, **serializer.validated_data, actor=request.user)
        interaction = interaction_list_for(user=request.user).get(pk=interaction.pk)
        return Response(InteractionSerializer(interaction).data)
