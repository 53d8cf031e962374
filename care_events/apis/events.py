"""`POST /api/v1/events/`: the catalogue's external events, sent by an outside caller (the agent, an ADT feed).
Thin, as care_events/apis/patients.py says.
"""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from care_events.platform.api_clients.idempotency import idempotent, once_per_key, payload_fingerprint
from care_events.platform.bus.catalogue import CATALOGUE
from care_events.platform.bus.dispatch import Actor
from care_events.platform.rest.exceptions import EventIdReused, EventNotAllowed
from care_events.platform.rest.schema import EXAMPLE_ID, request_example
from care_events.serializers import EventAcceptedSerializer, EventSerializer
from care_events.services.episodes import external_event_receive


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
        # An unknown name raises UnknownEventError, a bad payload EventPayloadError: both ApplicationErrors, 400
        # naming the field.
        event = external_event_receive(name=name, data=data, actor=actor)
        return Response(EventAcceptedSerializer(event).data, status=status.HTTP_202_ACCEPTED)
