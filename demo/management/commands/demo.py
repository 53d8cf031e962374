import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.story import demo_accounts_ensure, demo_story_play, demo_summary, server_command

PRODUCTION_SETTINGS = "config.settings.production"


class Command(BaseCommand):
    help = (
        "See the product work: with the server running (bash scripts/run.sh, with compressed time), play a patient's "
        "story through the REST API as the interaction agent would (discharge, check-in SMS, a worrying answer) and "
        "watch the escalation, the assignment, the nurse's message and a 1-minute SLA warned and breached (or, with "
        "--resolve, the task resolved by its nurse). Creates demo nurses on shift and a demo agent account in this "
        "database, which must be the server's. Exits 0 only if the whole story happened."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            default=settings.PUBLIC_BASE_URL,
            help="The running server (default %(default)s: the address scripts/run.sh serves on, from this "
            "directory, or PUBLIC_BASE_URL).",
        )
        parser.add_argument(
            "--resolve",
            action="store_true",
            help="The nurse resolves the task through the API, cancelling its SLA timers, instead of a 1-minute SLA "
            "being warned and breached.",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=120.0,
            help="Seconds each step may take after it is due (default %(default)s).",
        )
        parser.add_argument(
            "--checkin-delay",
            type=float,
            default=30.0,
            help="The CHECKIN_DELAY (seconds) the server was started with: an expectation, used to wait for the "
            "check-in and in the hint if it does not come (default %(default)s).",
        )

    def handle(self, *args: Any, url: str, resolve: bool, timeout: float, checkin_delay: float, **options: Any) -> None:
        # Production leaves this app out; a settings module built on production's that put it back is refused here,
        # before any account is made: the demo's nurses would join the live roster and get real alerts.
        if PRODUCTION_SETTINGS in sys.modules:
            raise CommandError(
                f"manage.py demo refuses to run with production settings ({settings.SETTINGS_MODULE} uses "
                f"{PRODUCTION_SETTINGS}): it puts made-up nurses on shift. Run it with config.settings.local."
            )
        accounts = demo_accounts_ensure()
        nurses = ", ".join(str(nurse_id) for nurse_id in accounts.nurse_tokens)
        self.say(
            f"Demo accounts ready: nurses {nurses} on shift until {accounts.shift_ends_at:%H:%M} UTC "
            f"(supervisor {accounts.supervisor_id}), the agent's service account, fresh API keys."
        )
        self.say(f"Playing the story against {url}, which should run with: {server_command(checkin_delay)}")
        result = demo_story_play(
            base_url=url,
            accounts=accounts,
            resolve=resolve,
            step_timeout=timeout,
            checkin_delay=checkin_delay,
            out=self.say,
        )
        self.say("")
        self.say(demo_summary(result, base_url=url))
        if not result.completed:
            raise CommandError(f'the story stopped at "{result.failed_step}": {result.reason}. Hint: {result.hint}')

    def say(self, line: str) -> None:
        # Flushed line by line: the timeline is read as it happens, also through a pipe.
        self.stdout.write(line)
        self.stdout.flush()
