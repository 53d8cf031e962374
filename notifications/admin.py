from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from care_events.platform.admin import ReadOnlyAdmin
from notifications.models import InboundMessage, NotificationLog, PushSubscription
from notifications.services.fallback import notification_resend


@admin.register(NotificationLog)
class NotificationLogAdmin(ReadOnlyAdmin):
    """Every message, read-only. Each row shows its alert's chain (every channel tried for the alert, the first row
    first: one query on `alert`); "Re-send" sends a failed message again as a new row of its chain."""

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
        "chain_length",
    )
    list_filter = ("status", "channel", "type", "provider", "urgent")
    search_fields = ("=id", "=alert__id", "=task__id", "provider_message_id", "dedupe_key")
    date_hierarchy = "created_at"
    list_select_related = ("recipient_nurse__user", "recipient_patient", "task")
    actions = ("resend",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationLog]:
        return super().get_queryset(request).annotate(_chain_length=Count("alert__chain"))

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "alert_chain"]

    @admin.display(description="Attempts of its alert", ordering="_chain_length")
    def chain_length(self, log: NotificationLog) -> int:
        return getattr(log, "_chain_length", 1)

    @admin.display(description="Alert chain")
    def alert_chain(self, log: NotificationLog) -> SafeString:
        """Every row of the alert, oldest first: channel, status and why it failed or was given up."""
        rows = list(NotificationLog.objects.filter(alert_id=log.alert_id).order_by("created_at", "pk"))
        return format_html_join(
            " → ",
            "{}",
            (
                (self._link(row) if row.pk != log.pk else format_html("<b>this {} {}</b>", row.channel, row.status),)
                for row in rows
            ),
        )

    @staticmethod
    def _link(log: NotificationLog) -> SafeString:
        url = reverse("admin:notifications_notificationlog_change", args=[log.pk])
        reason = f" ({log.error_code})" if log.error_code and log.status in ("FAILED", "CANCELLED") else ""
        return format_html('<a href="{}">{} {}{}</a>', url, log.channel, log.status, reason)

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
