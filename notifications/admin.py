from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from care_events.platform.admin import ReadOnlyAdmin
from notifications.models import InboundMessage, NotificationLog, PushSubscription
from notifications.services.fallback import notification_resend, replaced_rows


@admin.register(NotificationLog)
class NotificationLogAdmin(ReadOnlyAdmin):
    """Every message, read-only. A failed one shows what replaced it (the next channel, a re-send) and what it
    replaced; "Re-send" sends a failed message again as a new row linked to it."""

    list_display = (
        "created_at",
        "type",
        "channel",
        "status",
        "error_code",
        "recipient_nurse",
        "recipient_patient",
        "task",
        "attempts",
        "provider",
    )
    list_filter = ("status", "channel", "type", "provider", "urgent")
    search_fields = ("=id", "=task__id", "provider_message_id", "dedupe_key")
    date_hierarchy = "created_at"
    list_select_related = ("recipient_nurse__user", "recipient_patient", "task")
    actions = ("resend",)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "failure_chain"]

    @admin.display(description="Failure chain")
    def failure_chain(self, log: NotificationLog) -> SafeString:
        """The rows this one replaced (oldest first), then the rows that replace it."""
        earlier = replaced_rows(log)
        later = list(log.replaced_by.order_by("created_at"))
        if not earlier and not later:
            return format_html("{}", "—")
        return format_html_join(
            " → ",
            "{}",
            (
                (self._link(row) if row.pk != log.pk else format_html("<b>this {}</b>", row.channel),)
                for row in [*earlier, log, *later]
            ),
        )

    @staticmethod
    def _link(log: NotificationLog) -> SafeString:
        url = reverse("admin:notifications_notificationlog_change", args=[log.pk])
        return format_html('<a href="{}">{} {}</a>', url, log.channel, log.status)

    @admin.action(description="Re-send the selected failed notifications")
    def resend(self, request: HttpRequest, queryset: QuerySet[NotificationLog]) -> None:
        sent = [log for log in queryset if notification_resend(log=log) is not None]
        self.message_user(request, f"{len(sent)} failed notification(s) sent again as new rows.", messages.SUCCESS)


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    """Every text that reached our number (STOP, START, HELP, replies, unknown senders)."""

    list_display = ("received_at", "kind", "patient", "provider_message_id")
    list_filter = ("kind",)
    search_fields = ("=provider_message_id", "=patient__id")
    date_hierarchy = "received_at"
    list_select_related = ("patient",)


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    """Browsers nurses registered for push (nurses register them through the API); deleting one stops pushes to
    it."""

    list_display = ("nurse", "created_at", "last_success_at")
    list_select_related = ("nurse__user",)
    readonly_fields = ("nurse", "endpoint", "p256dh", "auth", "created_at", "last_success_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
