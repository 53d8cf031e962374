from django.urls import path

from care_events.apis import events, interactions, messages, patients

urlpatterns = [
    path("patients/", patients.PatientListCreateApi.as_view(), name="patient-list-create"),
    path("patients/<uuid:pk>/", patients.PatientDetailApi.as_view(), name="patient-detail"),
    path("patients/<uuid:pk>/episodes/", patients.PatientEpisodeListApi.as_view(), name="patient-episodes"),
    path("episodes/", patients.EpisodeCreateApi.as_view(), name="episode-create"),
    path("episodes/<uuid:pk>/", patients.EpisodeDetailApi.as_view(), name="episode-detail"),
    path("episodes/<uuid:pk>/discharge/", patients.EpisodeDischargeApi.as_view(), name="episode-discharge"),
    path("episodes/<uuid:pk>/interactions/", messages.EpisodeInteractionListApi.as_view(), name="episode-interactions"),
    path("patient-messages/", messages.PatientMessageFeedApi.as_view(), name="patient-messages"),
    path(
        "patient-messages/<uuid:pk>/handled/",
        messages.PatientMessageHandledApi.as_view(),
        name="patient-message-handled",
    ),
    path("interactions/", interactions.InteractionStartApi.as_view(), name="interaction-start"),
    path("interactions/<uuid:pk>/", interactions.InteractionDetailApi.as_view(), name="interaction-detail"),
    path(
        "interactions/<uuid:pk>/responses/",
        interactions.InteractionResponseListCreateApi.as_view(),
        name="interaction-responses",
    ),
    path(
        "interactions/<uuid:pk>/messages/",
        interactions.InteractionMessageListApi.as_view(),
        name="interaction-messages",
    ),
    path(
        "interactions/<uuid:pk>/complete/",
        interactions.InteractionCompleteApi.as_view(),
        name="interaction-complete",
    ),
    path("events/", events.EventEmitApi.as_view(), name="event-send"),
]
