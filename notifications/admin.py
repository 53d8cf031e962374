from django.contrib import admin

from config.admin import ReadOnlyAdmin
from notifications.models import NotificationLog


@admin.register(NotificationLog)
class NotificationLogAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "type",
        "channel",
        "status",
        "recipient_nurse",
        "recipient_patient",
        "task",
        "attempts",
        "provider",
    )
    list_filter = ("status", "type", "channel", "provider")
    search_fields = ("=id", "=task__id", "provider_message_id", "dedupe_key")
    date_hierarchy = "created_at"
    list_select_related = ("recipient_nurse__user", "recipient_patient", "task")
