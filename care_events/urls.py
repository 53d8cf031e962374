from django.urls import path

from care_events import apis

urlpatterns = [
    path("patients/", apis.PatientListCreateApi.as_view(), name="patient-list-create"),
    path("patients/<uuid:pk>/", apis.PatientDetailApi.as_view(), name="patient-detail"),
    path("patients/<uuid:pk>/episodes/", apis.PatientEpisodeListApi.as_view(), name="patient-episodes"),
    path("episodes/", apis.EpisodeCreateApi.as_view(), name="episode-create"),
    path("episodes/<uuid:pk>/", apis.EpisodeDetailApi.as_view(), name="episode-detail"),
    path("episodes/<uuid:pk>/discharge/", apis.EpisodeDischargeApi.as_view(), name="episode-discharge"),
    path("interactions/", apis.InteractionStartApi.as_view(), name="interaction-start"),
    path("interactions/<uuid:pk>/", apis.InteractionDetailApi.as_view(), name="interaction-detail"),
    path(
        "interactions/<uuid:pk>/responses/",
        apis.InteractionResponseListCreateApi.as_view(),
        name="interaction-responses",
    ),
    path("interactions/<uuid:pk>/messages/", apis.InteractionMessageListApi.as_view(), name="interaction-messages"),
    path("interactions/<uuid:pk>/complete/", apis.InteractionCompleteApi.as_view(), name="interaction-complete"),
    path("events/", apis.EventEmitApi.as_view(), name="event-send"),
]
