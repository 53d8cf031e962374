from typing import Any

from django.core.management.base import BaseCommand

from care_events.platform.api_clients.idempotency import idempotency_records_prune


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_HOURS (run it daily, e.g. from cron)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Deleted {idempotency_records_prune()} idempotency records.")
