"""What the agent reads of the patient's own texts, and how it says it acted on one (docs/api.md#a-patients-text):
an episode's interactions with their latest texts, every text since a cursor, a text marked handled. Thin, as
care_events/apis/patients.py says."""

import uuid

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from care_events.message_serializers import (
    EpisodeInteractionSerializer,
    FeedMessageSerializer,
    MessageFeedQuerySerializer,
    MessageFeedSerializer,
    PatientMessageSerializer,
    message_cursor,
)
from care_events.models import AgentInteraction
from care_events.platform.api_clients.idempotency import idempotent
from care_events.platform.rest.lookup import require_in_reach
from care_events.selectors import (
    episode_interactions,
    episode_list_for,
    patient_message_list_for,
    patient_messages_after_for,
)
from care_events.services.interactions import patient_message_handle


@extend_schema_view(
    get=extend_schema(
        tags=["episodes"],
        operation_id="episode_interactions",
        summary="List an episode's interactions with the patient's latest texts (agent, nurses)",
        description="Newest first, paginated; each with its latest texts and how many nobody acted on. A text the "
        "patient sent when no interaction was open opened one (tied to the check-in it answers): it is listed "
        "here, and your POST interactions/ for this episode takes it up rather than starting another.",
        parameters=[
            OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The episode's UUID.")
        ],
    )
)
class EpisodeInteractionListApi(ListAPIView):
    required_perms = {
        "GET": ("care_events.view_episode", "care_events.view_agentinteraction", "care_events.view_patientmessage")
    }
    serializer_class = EpisodeInteractionSerializer
    extra_error_codes = (400,)

    def get_queryset(self) -> QuerySet[AgentInteraction]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the model: no request, no id
            return AgentInteraction.objects.none()
        pk = self.kwargs["pk"]
        require_in_reach(episode_list_for(user=self.request.user), pk)
        return episode_interactions(episode_id=pk)


class PatientMessageFeedApi(APIView):
    required_perms = {"GET": ("care_events.view_patientmessage",)}

    @extend_schema(
        tags=["interactions"],
        operation_id="patient_messages_after",
        summary="Read every patient text since a cursor (agent, nurses)",
        description="In order of arrival, `limit` at a time, the texts you may read (the agent: all; a nurse: her "
        "tasks' patients'). Start without `after`; then pass the `next_cursor` of the last page, and keep it "
        "between polls: nothing is skipped, even texts arriving together. A cursor this API did not give is 400 "
        "naming `after`; any other parameter is 400 naming it.",
        parameters=[MessageFeedQuerySerializer],
        responses={200: MessageFeedSerializer},
    )
    def get(self, request: Request) -> Response:
        query = MessageFeedQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        after, limit = query.validated_data.get("after", 0), query.validated_data["limit"]
        page = list(patient_messages_after_for(user=request.user, after=after)[: limit + 1])
        results = page[:limit]
        next_cursor = message_cursor(results[-1].seq) if results else request.query_params.get("after")
        return Response(
            {
                "results": FeedMessageSerializer(results, many=True).data,
                "next_cursor": next_cursor,
                "has_more": len(page) > limit,
            }
        )


class PatientMessageHandledApi(APIView):
    required_perms = {"POST": ("care_events.record_interaction",)}

    @extend_schema(
        tags=["interactions"],
        operation_id="patient_message_handled",
        summary="Say you acted on a patient's text (agent)",
        description="No nurse review task follows for it, and the check-in it answers counts as answered (no "
        '"not answered" call task). Recording a response in its interaction, or completing the interaction, '
        "does the same for every text before it. Again: the first mark, unchanged.",
        request=None,
        responses={200: PatientMessageSerializer},
    )
    @idempotent
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        message = get_object_or_404(patient_message_list_for(user=request.user), pk=pk)
        message = patient_message_handle(message_id=message.pk)
        return Response(PatientMessageSerializer(message).data)
