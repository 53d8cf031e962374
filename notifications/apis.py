"""A nurse's own notifications. Notifications belong to their recipient alone: another nurse's is 404, and
staff read everyone's in admin (read-only), not here."""

import uuid

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from care_events.api_clients.idempotency import idempotent
from config.rest.permissions import IsNurse
from config.rest.serializers import EmptySerializer
from notifications.models import NotificationLog
from notifications.selectors import notification_list_for
from notifications.serializers import NotificationSerializer
from notifications.services import notification_mark_read


@extend_schema_view(
    get=extend_schema(
        tags=["notifications"],
        operation_id="notification_list",
        summary="List my notifications (nurse)",
        description="Newest first, paginated.",
    )
)
class NotificationListApi(ListAPIView):
    permission_classes = [IsNurse]
    serializer_class = NotificationSerializer

    def get_queryset(self) -> QuerySet[NotificationLog]:
        return notification_list_for(user=self.request.user)


class NotificationReadApi(APIView):
    permission_classes = [IsNurse]

    @extend_schema(
        tags=["notifications"],
        operation_id="notification_read",
        summary="Mark my notification read (nurse)",
        description="Status becomes READ (`notification/read`) unless it failed or was cancelled; again: no change.",
        request=EmptySerializer,
        responses={200: NotificationSerializer},
    )
    @idempotent
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        EmptySerializer(data=request.data).is_valid(raise_exception=True)
        log = notification_mark_read(log=get_object_or_404(notification_list_for(user=request.user), pk=pk))
        return Response(NotificationSerializer(log).data)
