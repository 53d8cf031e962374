"""The interaction agent's endpoints for patients (and finding them by MRN), their episodes and discharges.

Thin: validate with a serializer, call one service, answer with a serializer. Each view names the permissions
each method needs (`required_perms`, checked by care_events/platform/rest/permissions.py); the rows a user reads are the
selectors' (`*_for(user=...)`: a nurse reads only her tasks' patients). A service's refusal is an ApplicationError,
answered by care_events/platform/rest/errors.py; idempotency is care_events/platform/api_clients/'.
"""

import uuid

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from care_events.models import Episode, Patient
from care_events.platform.api_clients.idempotency import idempotent
from care_events.platform.rest.lookup import require_in_reach
from care_events.platform.rest.schema import EXAMPLE_ID, ErrorSerializer, request_example
from care_events.selectors import episode_list_for, patient_episode_list, patient_list_for, patients_by_mrn_for
from care_events.serializers import DischargeSerializer, EpisodeSerializer, PatientLookupSerializer, PatientSerializer
from care_events.services.episodes import episode_create, episode_discharge
from care_events.services.patients import patient_create


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
        patient = patient_create(**serializer.validated_data)
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
        require_in_reach(patient_list_for(user=self.request.user), pk)
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
        # A patient the caller cannot read is no patient to it: 400 naming patient_id, as a missing one.
        serializer.fields["patient_id"].queryset = patient_list_for(user=request.user)
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
