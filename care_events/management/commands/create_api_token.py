from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from care_events.api_clients.tokens import api_token_rotate


class Command(BaseCommand):
    help = (
        "Create or rotate the API token of an existing user (a nurse, or staff). Prints only the new key; the old "
        "key stops working at once. For the interaction agent use create_agent_token."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError("No such user. Nurses are created in admin (Nurses → Add nurse).")
        if not user.is_active:
            raise CommandError("This user is inactive.")
        self.stdout.write(api_token_rotate(user=user))
