from django.urls import path

from tasks_app import apis

urlpatterns = [
    path("interactions/<uuid:pk>/raise-flag/", apis.InteractionFlagRaiseApi.as_view(), name="interaction-raise-flag"),
    path("interactions/<uuid:pk>/handoff/", apis.InteractionHandoffApi.as_view(), name="interaction-handoff"),
    path("tasks/", apis.TaskListApi.as_view(), name="task-list"),
    path("tasks/<uuid:pk>/", apis.TaskDetailApi.as_view(), name="task-detail"),
    path("tasks/<uuid:pk>/acknowledge/", apis.TaskAcknowledgeApi.as_view(), name="task-acknowledge"),
    path("tasks/<uuid:pk>/resolve/", apis.TaskResolveApi.as_view(), name="task-resolve"),
    path("tasks/<uuid:pk>/reassign/", apis.TaskReassignApi.as_view(), name="task-reassign"),
    path("tasks/<uuid:pk>/cancel/", apis.TaskCancelApi.as_view(), name="task-cancel"),
]
