"""A task's history of hands (docs/handover.md): read-only, written by the assignment and hand-over services."""

from django.contrib import admin

from care_events.platform.admin import ReadOnlyAdmin
from tasks_app.models import TaskAssignment


@admin.register(TaskAssignment)
class TaskAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("at", "task", "from_nurse", "to_nurse", "reason", "actor")
    list_filter = ("reason",)
    search_fields = ("=task__id",)
    list_select_related = ("task", "from_nurse__user", "to_nurse__user")
    date_hierarchy = "at"
