from django.contrib import admin
from django.http import HttpRequest

from care_events.api_clients.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Who holds an API key, and since when. Keys are created or rotated by `create_agent_token` and
    `create_api_token`, which print the key once; deleting a row here revokes the key at once."""

    list_display = ("user", "prefix", "created_at")
    search_fields = ("user__username", "=prefix")
    readonly_fields = ("user", "prefix", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False
