"""What the API keeps about its clients: their keys and the requests they already made (Idempotency-Key).

These models belong to the care_events app (its `models` module imports them).
"""

from django.conf import settings
from django.db import models


class IdempotencyRecord(models.Model):
    """One POST sent with an `Idempotency-Key`, and the response it got (care_events/api_clients/idempotency.py).

    The row is inserted in the same transaction as the request's side effect, so it exists if and only if the
    side effect committed; a repeat of the request finds it and gets the stored response instead of a second run.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and JSON body.")
    status_code = models.PositiveSmallIntegerField(null=True)
    # Text, not jsonb: jsonb reorders keys, and a replay should be the very bytes of the first answer.
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_one_per_user_and_key")]

    def __str__(self) -> str:
        return f"Idempotency record {self.pk}"


class ApiToken(models.Model):
    """A user's API key, stored as its SHA-256 digest only (care_events/api_clients/tokens.py): a database dump, a
    backup or an admin screen never holds a usable key. One per user; rotating replaces it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=8, editable=False, help_text="The key's first characters, to tell keys apart; not usable alone."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"API token {self.prefix}… of {self.user}"
