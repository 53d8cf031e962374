"""Anonymous API requests, counted rather than written one by one.

A request under `/api/v1/` that nobody is authenticated for (no key, an unknown or dead key, no session) reaches no
data: it is a 401 or a 429. Writing each as its own audit row would let anyone fill the trail for ever, so
AuditMiddleware counts them instead: one row per client address and minute (`AnonymousApiTraffic`), its counts
raised by an upsert in the same single statement a row would have cost. A failed count is answered like a failed
audit row (503).
"""

from django.db import connection, models
from django.utils import timezone


class AnonymousApiTraffic(models.Model):
    id = models.BigAutoField(primary_key=True)
    minute = models.DateTimeField(help_text="The minute (UTC) the requests arrived in.")
    client_address = models.GenericIPAddressField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=0)
    throttled = models.PositiveIntegerField(default=0, help_text="Of them, answered 429 (over API_ANON_RATE_LIMIT).")

    class Meta:
        app_label = "care_events"
        verbose_name = "anonymous API traffic"
        verbose_name_plural = "anonymous API traffic"
        constraints = [
            models.UniqueConstraint(
                fields=["minute", "client_address"], name="anonymous_traffic_once_per_minute", nulls_distinct=False
            )
        ]
        indexes = [models.Index(fields=["client_address", "minute"], name="anonymous_traffic_by_address")]

    def __str__(self) -> str:
        return f"{self.requests} anonymous requests from {self.client_address} at {self.minute:%Y-%m-%d %H:%M}"


def anonymous_request_count(*, client_address: str | None, status_code: int) -> None:
    """Count one anonymous API request of this minute from `client_address`."""
    minute = timezone.now().replace(second=0, microsecond=0)
    table = AnonymousApiTraffic._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (minute, client_address, requests, throttled) VALUES (%s, %s, 1, %s) "  # noqa: S608
            "ON CONFLICT ON CONSTRAINT anonymous_traffic_once_per_minute DO UPDATE "
            f"SET requests = {table}.requests + 1, throttled = {table}.throttled + EXCLUDED.throttled",
            [minute, client_address, int(status_code == 429)],
        )
