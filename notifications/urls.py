from django.urls import path

from notifications import apis

urlpatterns = [
    path("notifications/", apis.NotificationListApi.as_view(), name="notification-list"),
    path("notifications/<uuid:pk>/read/", apis.NotificationReadApi.as_view(), name="notification-read"),
    path("push-subscriptions/", apis.PushSubscriptionRegisterApi.as_view(), name="push-subscription-register"),
    path(
        "push-subscriptions/unregister/",
        apis.PushSubscriptionUnregisterApi.as_view(),
        name="push-subscription-unregister",
    ),
    path(
        "push-subscriptions/vapid-public-key/",
        apis.VapidPublicKeyApi.as_view(),
        name="push-subscription-vapid-public-key",
    ),
]
