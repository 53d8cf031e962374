"""A nurse's own notifications, and the browsers she registers for push notifications. Notifications belong to
their recipient alone: another nurse's is 404, and administrators read everyone's in admin (read-only), not here.
Each view names the permissions each method needs (`required_perms`, care_events/platform/rest/permissions.py)."""

import uuid

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from care_events.platform.api_clients.idempotency import idempotent
from care_events.platform.rest.schema import request_example
from care_events.platform.rest.serializers import EmptySerializer
from notifications.models import NotificationLog
from notifications.selectors import alert_list_for, notification_list_for
from notifications.serializers import (
    NotificationSerializer,
    PushSubscriptionRegisterSerializer,
    PushSubscriptionSerializer,
    PushSubscriptionUnregisterSerializer,
    VapidPublicKeySerializer,
)
from notifications.services.push import push_subscription_register, push_subscription_remove
from notifications.services.status import notification_mark_read
from tasks_app.models import Nurse
from tasks_app.selectors import nurse_for_user

# An example of what a browser's PushSubscription.toJSON() gives (keys of a real P-256 key pair).
EXAMPLE_ENDPOINT = "https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:APA91bHqjZxM0VImWWqDRN7U0a3AycjUf4O"
EXAMPLE_KEYS = {
    "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
    "auth": "tBHItJI5svbpez7KI4CCXg",
}


def own_nurse(request: Request) -> Nurse:
    """The caller's nurse profile: push subscriptions are a nurse's own, so an account without one has none (403)."""
    nurse = nurse_for_user(user=request.user)
    if nurse is None:
        raise PermissionDenied("Push subscriptions belong to a nurse; this account has no nurse profile.")
    return nurse


@extend_schema_view(
    get=extend_schema(
        tags=["notifications"],
        operation_id="notification_list",
        summary="List my notifications (nurse)",
        description="Her alerts, newest first, paginated. One item per alert: its first row's fields, the alert's "
        "own status (`alert_status`) and its attempts on each channel (`chain`); a fallback copy on another channel "
        "is an attempt of the alert it repeats, not an item of its own.",
    )
)
class NotificationListApi(ListAPIView):
    required_perms = {"GET": ("notifications.view_notificationlog",)}
    serializer_class = NotificationSerializer

    def get_queryset(self) -> QuerySet[NotificationLog]:
        return alert_list_for(user=self.request.user)


class NotificationReadApi(APIView):
    required_perms = {"POST": ("notifications.view_notificationlog",)}  # marking her own as read is reading it

    @extend_schema(
        tags=["notifications"],
        operation_id="notification_read",
        summary="Mark my notification read (nurse)",
        description="The alert is read: the attempt that reached her (else the latest one still open) becomes READ "
        "(`notification/read`) and its attempts still waiting are given up; by the id of any of its rows. A failed "
        "or cancelled row alone: no change; again: no change.",
        request=EmptySerializer,
        responses={200: NotificationSerializer},
    )
    @idempotent
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        EmptySerializer(data=request.data).is_valid(raise_exception=True)
        log = notification_mark_read(log=get_object_or_404(notification_list_for(user=request.user), pk=pk))
        return Response(NotificationSerializer(log).data)


class PushSubscriptionRegisterApi(APIView):
    required_perms = {"POST": ("notifications.add_pushsubscription",)}

    @extend_schema(
        tags=["notifications"],
        operation_id="push_subscription_register",
        summary="Register my browser for push notifications (nurse)",
        description="Send the browser's `PushSubscription.toJSON()` as it is. The nurse's PUSH messages then go to "
        "every browser she registered. 201 for a new endpoint; 200 when the endpoint was hers already (its keys "
        "are replaced: a browser re-subscribing); 409 `endpoint_taken` when it is another nurse's (a browser "
        "unsubscribes and subscribes again for a new endpoint).",
        examples=[request_example(endpoint=EXAMPLE_ENDPOINT, expirationTime=None, keys=EXAMPLE_KEYS)],
        request=PushSubscriptionRegisterSerializer,
        responses={201: PushSubscriptionSerializer, 200: PushSubscriptionSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        nurse = own_nurse(request)
        serializer = PushSubscriptionRegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, keys = serializer.validated_data["endpoint"], serializer.validated_data["keys"]
        subscription, created = push_subscription_register(
            nurse=nurse, endpoint=endpoint, p256dh=keys["p256dh"], auth=keys["auth"]
        )
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(PushSubscriptionSerializer(subscription).data, status=answer)


class PushSubscriptionUnregisterApi(APIView):
    required_perms = {"POST": ("notifications.delete_pushsubscription",)}
    extra_error_codes = (404,)  # the path has no id, so the schema would not list it by itself

    @extend_schema(
        tags=["notifications"],
        operation_id="push_subscription_unregister",
        summary="Unregister my browser from push notifications (nurse)",
        description="Forgets the caller's own subscription at `endpoint` (call it before "
        "`PushSubscription.unsubscribe()`). 404 when she has none there, including another nurse's.",
        examples=[request_example(endpoint=EXAMPLE_ENDPOINT)],
        request=PushSubscriptionUnregisterSerializer,
        responses={204: None},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        nurse = own_nurse(request)
        serializer = PushSubscriptionUnregisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not push_subscription_remove(nurse=nurse, endpoint=serializer.validated_data["endpoint"]):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class VapidPublicKeyApi(APIView):
    required_perms = {"GET": ("notifications.add_pushsubscription",)}

    @extend_schema(
        tags=["notifications"],
        operation_id="push_vapid_public_key",
        summary="The server's VAPID public key (nurse)",
        description="Pass it to `PushManager.subscribe()` as `applicationServerKey`, then register the subscription.",
        responses={200: VapidPublicKeySerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(VapidPublicKeySerializer({"public_key": settings.VAPID_PUBLIC_KEY}).data)
