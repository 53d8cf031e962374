"""The interaction agent's endpoints: patients (and finding them by MRN), episodes and their discharge,
interactions, events.

Thin: validate with a serializer, call one service, answer with a serializer. Each view names the permissions
each method needs (`required_perms`, checked by care_events/platform/rest/permissions.py); the rows a user reads are the
selectors' (`*_for(user=...)`: a nurse reads only her tasks' patients). The error format and limits are in
care_events/platform/rest/, idempotency in care_events/platform/api_clients/.
"""

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from care_events.models import AgentInteraction, Episode, InteractionResponse, Patient, PatientMessage
from care_events.platform.api_clients.idempotency import idempotent, once_per_key, payload_fingerprint
from care_events.platform.bus.catalogue import CATALOGUE
from care_events.platform.bus.dispatch import Actor
from care_events.platform.rest.exceptions import Conflict, EventIdReused, EventNotAllowed
from care_events.platform.rest.schema import EXAMPLE_ID, ErrorSerializer, request_example
from care_events.selectors import (
    episode_list_for,
    interaction_list_for,
    interaction_response_list,
    interaction_responses,
    patient_episode_list,
    patient_list_for,
    patient_message_list,
    patients_by_mrn_for,
)
from care_events.serializers import (
    DischargeSerializer,
    EpisodeSerializer,
    EventAcceptedSerializer,
    EventSerializer,
    InteractionCompleteSerializer,
    InteractionResponseSerializer,
    InteractionSerializer,
    PatientLookupSerializer,
    PatientMessageSerializer,
    PatientSerializer,
)
from care_events.services.episodes import episode_create, episode_discharge, external_event_receive
from care_events.services.interactions import (
    InteractionResponseLimitError,
    interaction_complete,
    interaction_response_record,
    interaction_start,
)
from care_events.services.patients import PatientExistsError, patient_create


@extend_schema_view(
    get=extend_schema(
        tags=["patients"],
        operation_id="patient_lookup",
        summary="Find patients by medical record number (agent, nurses)",
        description="The patients with this `mrn` (at this `facility` when given: then at most one), by facility, "
        "paginated. `mrn` is required and not blank; any other parameter than these and `page`, `page_size` is 400 "
        "naming it.",
        parameters=[PatientLookupSerializer],
    )
)
class PatientListCreateApi(ListAPIView):
    required_perms = {"GET": ("care_events.view_patient",), "POST": ("care_events.add_patient",)}
    serializer_class = PatientSerializer

    def get_queryset(self) -> QuerySet[Patient]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the model: no request
            return Patient.objects.none()
        # A plain dict, not the QueryDict (an empty `?mrn=` must be "blank", not "absent"); the page's own
        # parameters are the paginator's.
        pagination = {"page", "page_size"}
        query = {k: v for k, v in self.request.query_params.dict().items() if k not in pagination}
        lookup = PatientLookupSerializer(data=query)
        lookup.is_valid(raise_exception=True)
        return patients_by_mrn_for(user=self.request.user, **lookup.validated_data)

    @extend_schema(
        tags=["patients"],
        operation_id="patient_create",
        examples=[
            request_example(
                first_name="Ada",
                last_name="Moreno",
                date_of_birth="1948-05-17",
                phone="+12025550143",
                timezone="America/New_York",
                preferred_language="en",
                mrn="MRN-0048213",
                facility="St Mary Cardiology",
            )
        ],
        summary="Create a patient (agent)",
        description="`mrn` and `facility` are optional and go together. A patient with the same MRN and facility "
        "exists already: 409 `conflict` with its id in `error.existing_id`, and nothing is created (also when two "
        "creates race).",
        request=PatientSerializer,
        responses={
            201: PatientSerializer,
            409: OpenApiResponse(
                ErrorSerializer, description="A patient with this MRN and facility exists: `error.existing_id`."
            ),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = PatientSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            patient = patient_create(**serializer.validated_data)
        except PatientExistsError as exc:
            raise Conflict(
                "A patient with this MRN and facility exists; see existing_id.", existing_id=exc.existing_id
            ) from None
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(tags=["patients"], operation_id="patient_read", summary="Read a patient (agent, nurses)")
)
class PatientDetailApi(RetrieveAPIView):
    required_perms = {"GET": ("care_events.view_patient",)}
    serializer_class = PatientSerializer

    def get_queryset(self) -> QuerySet[Patient]:
        return patient_list_for(user=self.request.user)


@extend_schema_view(
    get=extend_schema(
        tags=["patients"],
        operation_id="patient_episodes",
        summary="List a patient's episodes (agent, nurses)",
        description="Newest admission first, paginated; each with its `current_outreach_attempt`.",
        parameters=[
            OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The patient's UUID.")
        ],
    )
)
class PatientEpisodeListApi(ListAPIView):
    required_perms = {"GET": ("care_events.view_patient", "care_events.view_episode")}
    serializer_class = EpisodeSerializer
    # A path with an id documents 404 only; this list also answers 400 to a bad ?page or ?page_size.
    extra_error_codes = (400,)

    def get_queryset(self) -> QuerySet[Episode]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the model: no request, no id
            return Episode.objects.none()
        pk = self.kwargs["pk"]
        if not patient_list_for(user=self.request.user).filter(pk=pk).exists():
            raise Http404  # a patient who does not exist is 404, not an empty list
        return patient_episode_list(patient_id=pk)


class EpisodeCreateApi(APIView):
    required_perms = {"POST": ("care_events.add_episode",)}

    @extend_schema(
        tags=["episodes"],
        operation_id="episode_create",
        examples=[
            request_example(
                patient_id=EXAMPLE_ID, admitted_at="2026-01-10T08:00:00Z", condition="HF", facility="St Mary"
            )
        ],
        summary="Create an episode (agent)",
        description="An episode starts admitted; record its discharge with POST episodes/{id}/discharge/.",
        request=EpisodeSerializer,
        responses={201: EpisodeSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = EpisodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        episode = episode_create(**serializer.validated_data)
        episode = episode_list_for(user=request.user).get(pk=episode.pk)
        return Response(EpisodeSerializer(episode).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(tags=["episodes"], operation_id="episode_read", summary="Read an episode (agent, nurses)")
)
class EpisodeDetailApi(RetrieveAPIView):
    required_perms = {"GET": ("care_events.view_episode",)}
    serializer_class = EpisodeSerializer

    def get_queryset(self) -> QuerySet[Episode]:
        return episode_list_for(user=self.request.user)


class EpisodeDischargeApi(APIView):
    required_perms = {"POST": ("care_events.discharge_episode",)}

    @extend_schema(
        tags=["episodes"],
        operation_id="episode_discharge",
        examples=[request_example(discharged_at="2026-01-14T15:30:00Z")],
        summary="Record the discharge (agent)",
        description="Emits `patient/discharged`; the check-in is scheduled CHECKIN_DELAY later (24 h), outside "
        "the patient's quiet hours. A repeated discharge keeps the first time and schedules nothing new.",
        request=DischargeSerializer,
        responses={202: EpisodeSerializer},
    )
    @idempotent
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        serializer = DischargeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        episode = get_object_or_404(episode_list_for(user=request.user), pk=pk)
        episode_discharge(
            episode=episode, discharged_at=serializer.validated_data.get("discharged_at"), actor=request.user
        )
        episode = episode_list_for(user=request.user).get(pk=pk)
        return Response(EpisodeSerializer(episode).data, status=status.HTTP_202_ACCEPTED)


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
        "discharged episode, or on a new one (`interaction/patient_replied`), and counts as an answer to the "
        "check-in.",
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
        if not interaction_list_for(user=self.request.user).filter(pk=pk).exists():
            raise Http404  # an interaction that does not exist is 404, not an empty list
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
        if not interaction_list_for(user=self.request.user).filter(pk=pk).exists():
            raise Http404  # an interaction that does not exist is 404, not an empty list
        return interaction_responses(interaction_id=pk)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, InteractionResponseLimitError):
            exc = Conflict(str(exc), code="interaction_response_limit")
        return super().handle_exception(exc)

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


class EventEmitApi(APIView):
    required_perms = {"POST": ("care_events.add_event",)}

    @extend_schema(
        tags=["events"],
        operation_id="event_send",
        examples=[request_example(name="patient/discharged", data={"episode_id": EXAMPLE_ID}, id="adt-a03-8841")],
        summary="Send an event (agent)",
        description="Like Inngest's event API, for the catalogue's events that outside callers may send "
        "(patient/discharged, recorded as POST episodes/{id}/discharge/ records it). An unknown name is 400 (the "
        "message lists the allowed names); an event the system alone emits (e.g. task/sla_breach) is 403. An event "
        "is accepted once for the fact it records (one discharge per episode): a repeat answers with the first. "
        "An `id` is yours alone: another caller's same id is another event; your own id again with the same name "
        "and data answers as the first time, with other ones it is 422 `event_id_reused`.",
        request=EventSerializer,
        responses={202: EventAcceptedSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = EventSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        name, data = serializer.validated_data["name"], serializer.validated_data["data"]
        if name in CATALOGUE and not CATALOGUE[name].external:
            raise EventNotAllowed()
        sender_id = serializer.validated_data.get("id")
        if sender_id is None:
            return self.receive(name, data, request.user)
        # The sender's id is the sender's own: scoped to the caller (another caller's same id is another event), and
        # kept as an Idempotency-Key is, in a namespace of its own ("/" is not allowed in the header's keys).
        return once_per_key(
            request=request,
            key=f"event/{sender_id}",
            fingerprint=payload_fingerprint({"name": name, "data": data}),
            run=lambda: self.receive(name, data, request.user),
            reused=EventIdReused,
        )

    @staticmethod
    def receive(name: str, data: dict[str, Any], actor: Actor) -> Response:
        # An unknown name raises UnknownEventError, a bad payload EventPayloadError: both 400
        # (care_events/platform/rest/errors.py).
        event = external_event_receive(name=name, data=data, actor=actor)
        return Response(EventAcceptedSerializer(event).data, status=status.HTTP_202_ACCEPTED)
