"""`manage.py seed_history`: a synthetic history for demos and the reports (reports/history.py says what it writes)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reports.history import history_seed


class Command(BaseCommand):
    help = (
        "Write a realistic synthetic history (discharges, check-ins, answers, tasks, breaches, calls) for the reports."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--discharges", type=int, default=25_000, help="Discharges to write (default 25000).")
        parser.add_argument("--days", type=int, default=365, help="Days before today they spread over (default 365).")
        parser.add_argument("--nurses", type=int, default=60, help="Nurses of the history's roster (default 60).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed writes the same history.")

    def handle(self, *args: Any, discharges: int, days: int, nurses: int, seed: int, **options: Any) -> None:
        if discharges < 1 or days < 1 or nurses < 3:
            self.stderr.write("--discharges and --days must be at least 1, --nurses at least 3.")
            raise SystemExit(2)
        counts = history_seed(discharges=discharges, days=days, nurses=nurses, seed=seed)
        self.stdout.write(
            f"Wrote {counts.discharges} discharges over {days} days: {counts.answers} answers, {counts.tasks} tasks "
            f"({counts.breaches} resolved after their SLA), {counts.calls} nurse calls, {counts.readmissions} "
            f"readmissions (each a stay of its own, followed up once discharged); {counts.nurses} nurses, "
            f"{counts.shifts} shifts."
        )
