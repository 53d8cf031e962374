from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from care_events.api_clients.tokens import agent_account_ensure, api_token_rotate


class Command(BaseCommand):
    help = (
        "Create the interaction agent's service account (a user in the group 'interaction-agent') if needed, and "
        "create or rotate its API token. Prints only the new key; the old key stops working at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The service account's username, e.g. interaction-agent.")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = agent_account_ensure(username=username)
        self.stdout.write(api_token_rotate(user=user))
