from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from care_events.platform.api_clients.models import TokenScope
from care_events.platform.api_clients.tokens import api_token_create, api_token_rotate, service_account_ensure
from care_events.platform.roles import AGENT


class Command(BaseCommand):
    help = (
        "Create the interaction agent's service account (a user in the group 'Agent') if needed, and give it a new "
        "API key of scope 'agent'. Prints only the key. An existing key is revoked at once, or, with --rotate, "
        "stays valid for API_TOKEN_ROTATION_OVERLAP_MINUTES."
    )
    role, scope = AGENT, TokenScope.AGENT  # create_feed_token: the hospital feed's

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The service account's username, e.g. interaction-agent.")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help=f"Keep the current key valid for the overlap ({settings.API_TOKEN_ROTATION_OVERLAP_MINUTES} min).",
        )

    def handle(self, *args: Any, username: str, rotate: bool, **options: Any) -> None:
        user = service_account_ensure(username=username, role=self.role)
        create = api_token_rotate if rotate else api_token_create
        key = create(user=user, scope=self.scope)
        self.stdout.write(key)
