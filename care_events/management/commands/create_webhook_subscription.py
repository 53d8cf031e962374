from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from care_events.platform.webhooks.services import WEBHOOK_EVENTS, webhook_subscription_create


class Command(BaseCommand):
    help = (
        "Subscribe an agent's URL to webhook events (docs/webhooks.md). Prints only the signing secret, "
        "whsec_..., the one time it is shown."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A name for the subscription, e.g. interaction-agent.")
        parser.add_argument("url", help="The agent's endpoint, https://...")
        parser.add_argument(
            "--events",
            default=",".join(WEBHOOK_EVENTS),
            help=f"Comma-separated; default all: {','.join(WEBHOOK_EVENTS)}.",
        )
        parser.add_argument("--user", help="The agent's username (its API key fetches what a delivery names).")

    def handle(self, *args: Any, name: str, url: str, events: str, user: str | None, **options: Any) -> None:
        account = None
        if user is not None:
            account = User.objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"No user named {user!r}.")
        try:
            _, secret = webhook_subscription_create(
                name=name, url=url, events=[e.strip() for e in events.split(",") if e.strip()], user=account
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(secret)
