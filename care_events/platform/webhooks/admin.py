"""Webhook subscriptions (the secret is shown once, on the page after it is created) and their deliveries
(read-only; failed ones can be re-driven)."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from care_events.platform.admin import ReadOnlyAdmin
from care_events.platform.webhooks.models import WebhookDelivery, WebhookSubscription
from care_events.platform.webhooks.services import WEBHOOK_EVENTS, webhook_deliveries_redrive
from care_events.platform.webhooks.signing import secret_generate


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "events", "active", "created_at")
    list_filter = ("active",)
    fields = ("name", "user", "url", "events", "active")
    raw_id_fields = ("user",)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["events"].help_text = f"Comma-separated, of: {', '.join(WEBHOOK_EVENTS)}."
        return form

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form: ModelForm, change: bool) -> None:
        unknown = sorted(set(obj.events) - set(WEBHOOK_EVENTS))
        if unknown:
            obj.events = [name for name in obj.events if name in WEBHOOK_EVENTS]
            messages.warning(request, f"Dropped unknown events: {', '.join(unknown)}.")
        if not change:
            obj.secret = secret_generate()
        super().save_model(request, obj, form, change)
        if not change:
            # The only time it is shown: admin keeps it for signing and never displays it again.
            messages.success(request, f"Signing secret (shown once; give it to the agent now): {obj.secret}")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "subscription", "event", "status", "attempts", "last_status_code", "delivered_at")
    list_filter = ("status", "subscription")
    search_fields = ("=event__id",)
    actions = ("redrive",)

    @admin.action(description="Re-drive the selected failed deliveries", permissions=["view"])
    def redrive(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = webhook_deliveries_redrive(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} deliveries re-driven.")
