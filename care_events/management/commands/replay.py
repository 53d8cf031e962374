import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from care_events.platform.bus.catalogue import CATALOGUE
from care_events.platform.bus.dispatch import handler_runs_redrive
from care_events.platform.bus.models import RunStatus
from care_events.platform.bus.selectors import REPLAYABLE_STATUSES, handler_run_list_for_replay


def moment(value: str) -> dt.datetime:
    """An ISO 8601 date or date-time; one without an offset is UTC, the database's time (docs/architecture.md)."""
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        parsed = dt.datetime.combine(day, dt.time())
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = (
        "Replay after an outage: re-drive the handler runs of one event created in a window (FAILED ones by "
        "default: put back to PENDING with fresh attempts and published to the workers; PENDING ones are published "
        "again). A run that SUCCEEDED is never selected, and each handler claims its run, so a run is never done "
        "twice. Prints every run it re-drives; --dry-run only prints."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--event", required=True, help="The event's name, e.g. notification/send.")
        parser.add_argument(
            "--status",
            default=str(RunStatus.FAILED),
            choices=[str(status) for status in REPLAYABLE_STATUSES],
            help="Which runs to re-drive (default FAILED).",
        )
        parser.add_argument(
            "--since", required=True, type=moment, help="Start of the window (included), ISO 8601; UTC if no offset."
        )
        parser.add_argument(
            "--until", required=True, type=moment, help="End of the window (excluded), ISO 8601; UTC if no offset."
        )
        parser.add_argument("--dry-run", action="store_true", help="Print what would be re-driven; change nothing.")

    def handle(
        self, *args: Any, event: str, status: str, since: dt.datetime, until: dt.datetime, dry_run: bool, **options: Any
    ) -> None:
        if event not in CATALOGUE:
            raise CommandError(f"Unknown event {event!r}. Allowed: {', '.join(sorted(CATALOGUE))}.")
        if since >= until:
            raise CommandError("--since must be before --until.")
        runs = list(
            handler_run_list_for_replay(event_name=event, status=status, created_from=since, created_until=until)
        )
        window = f"{since.isoformat()} to {until.isoformat()}"
        if not runs:
            self.stdout.write(f"No {status} runs of {event} created from {window}.")
            return
        for run in runs:
            self.stdout.write(
                f"run {run.pk}  handler {run.handler}  event {run.event_id}  created {run.created_at.isoformat()}"
            )
        if dry_run:
            self.stdout.write(f"Dry run: {len(runs)} {status} run(s) would be re-driven; nothing changed.")
            return
        count = handler_runs_redrive(run_ids=[run.pk for run in runs])
        if status == RunStatus.FAILED:
            # A run that changed since it was listed (re-driven by someone else meanwhile) is not counted.
            self.stdout.write(
                f"Re-drove {count} of {len(runs)} failed run(s): PENDING again, published to the workers."
            )
        else:
            self.stdout.write(f"Published {len(runs)} pending run(s) again; each runs once, whoever claims it first.")
