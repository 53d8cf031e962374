"""What the API keeps about its clients: their keys and the requests they already made (Idempotency-Key).

These models belong to the care_events app (its `models` module imports them).
"""

import datetime as dt
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from rest_framework.permissions import SAFE_METHODS

from care_events.platform.roles import TOKEN_SCOPE_PERMISSIONS


class IdempotencyRecord(models.Model):
    """One POST sent with an `Idempotency-Key`, and the response it got
    (care_events/platform/api_clients/idempotency.py).

    The row is inserted in the same transaction as the request's side effect, so it exists if and only if the
    side effect committed; a repeat of the request finds it and gets the stored response instead of a second run.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and JSON body.")
    status_code = models.PositiveSmallIntegerField(null=True)
    # Text, not jsonb: jsonb reorders keys, and a replay should be the very bytes of the first answer. Encrypted
    # (idempotency.seal): the answer holds PHI.
    response_body = models.TextField(blank=True, help_text="The response's JSON, encrypted.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_one_per_user_and_key")]

    def __str__(self) -> str:
        return f"Idempotency record {self.pk}"


class TokenScope(models.TextChoices):
    """What a key may do, within its holder's permissions (care_events/platform/roles.py: TOKEN_SCOPE_PERMISSIONS)."""

    AGENT = "agent", "Agent"
    FEED = "feed", "Hospital feed"
    NURSE = "nurse", "Nurse"
    READ_ONLY = "read-only", "Read-only"


class ApiToken(models.Model):
    """An API key, stored as its SHA-256 digest only (care_events/platform/api_clients/tokens.py): a database dump, a
    backup or an admin screen never holds a usable key.

    A user has at most one *current* key. Its lifecycle is a row change each, so that signals see every step:
    create is an insert; rotate inserts the new key and updates the old one (`rotated_at` set, `expires_at`
    brought to the end of the overlap); revoke updates `revoked_at`. `last_used_at` is written with
    `QuerySet.update` at most once a minute (no signal: a use is not a change of the key).
    """

    Scope = TokenScope

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=8, editable=False, help_text="The key's first characters, to tell keys apart; not usable alone."
    )
    scope = models.CharField(max_length=10, choices=TokenScope.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="Refused from then on (401 token_expired).")
    last_used_at = models.DateTimeField(null=True, blank=True, help_text="To the minute.")
    rotated_at = models.DateTimeField(
        null=True, blank=True, help_text="When a new key replaced it; it stays valid for the overlap (expires_at)."
    )
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="Refused from then on (401 token_revoked).")

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(rotated_at__isnull=True, revoked_at__isnull=True),
                name="api_token_one_current_per_user",
            ),
            models.CheckConstraint(condition=Q(scope__in=TokenScope.values), name="api_token_scope_valid"),
        ]

    def __str__(self) -> str:
        return f"API token {self.prefix}… of {self.user}"

    def refusal(self, now: datetime) -> str | None:
        """Why this key is refused now (the error code of the 401), or None when it is valid."""
        if self.revoked_at is not None:
            return "token_revoked"
        if self.expires_at <= now:
            return "token_rotated" if self.rotated_at is not None else "token_expired"
        if not self.user.is_active:
            return "account_inactive"
        return None

    def allows(self, *, method: str, perms: Iterable[str]) -> bool:
        """Whether the scope lets a request through that needs `perms` (the holder's own permissions are checked
        apart: a scope only narrows them)."""
        if self.scope == TokenScope.READ_ONLY:
            return method in SAFE_METHODS
        return set(perms) <= set(TOKEN_SCOPE_PERMISSIONS[self.scope])

    def state(self, now: datetime) -> str:
        """For people (admin): active, expires soon, rotated (valid until …), replaced, expired, revoked, or
        holder inactive."""
        refusal = self.refusal(now)
        if refusal is not None:
            return {"token_rotated": "replaced", "account_inactive": "holder inactive"}.get(
                refusal, refusal.removeprefix("token_")
            )
        if self.rotated_at is not None:
            return f"rotated, valid until {self.expires_at:%Y-%m-%d %H:%M} UTC"
        if self.expires_at - now <= dt.timedelta(days=settings.API_TOKEN_EXPIRY_WARNING_DAYS):
            return "expires soon"
        return "active"
