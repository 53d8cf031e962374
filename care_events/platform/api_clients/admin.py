from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from care_events.platform.api_clients.models import ApiToken
from care_events.platform.api_clients.tokens import api_token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Who holds an API key, what it may do and until when. Keys are created and rotated by `create_agent_token`
    and `create_api_token`, which print the key once; the action *Revoke* refuses a key at once. Rows are kept
    (never deleted here) so that a key's history stays visible."""

    list_display = ("user", "prefix", "scope", "created_at", "expires_at", "last_used_at", "state")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter), ("rotated_at", admin.EmptyFieldListFilter))
    list_select_related = ("user",)
    search_fields = ("user__username", "=prefix")
    readonly_fields = (
        "user",
        "prefix",
        "scope",
        "created_at",
        "expires_at",
        "last_used_at",
        "rotated_at",
        "revoked_at",
        "state",
    )
    actions = ("revoke",)

    @admin.display(description="State")
    def state(self, token: ApiToken) -> str:
        return token.state(timezone.now())

    @admin.action(description="Revoke the selected API tokens (refused at once)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        tokens = list(queryset.filter(revoked_at=None))
        for token in tokens:
            api_token_revoke(token=token)
        self.message_user(request, f"{len(tokens)} API token(s) revoked.", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        # On the list (obj None) the change permission lets a user run the Revoke action; a key's page stays
        # read-only.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False
