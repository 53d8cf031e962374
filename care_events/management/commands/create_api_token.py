from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from care_events.platform.api_clients.models import TokenScope
from care_events.platform.api_clients.tokens import NoCurrentTokenError, api_token_create, api_token_rotate


class Command(BaseCommand):
    help = (
        "Give an existing user (a nurse, a charge nurse) a new API key. Prints only the key. An existing key is "
        "revoked at once, or, with --rotate, stays valid for API_TOKEN_ROTATION_OVERLAP_MINUTES. The scope narrows "
        "what the user's permissions allow. For the interaction agent use create_agent_token."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--scope",
            choices=TokenScope.values,
            help="What the key may do within the user's permissions (default: nurse; with --rotate, the current "
            "key's).",
        )
        parser.add_argument(
            "--rotate",
            action="store_true",
            help=f"Keep the current key valid for the overlap ({settings.API_TOKEN_ROTATION_OVERLAP_MINUTES} min).",
        )

    def handle(self, *args: Any, username: str, scope: str | None, rotate: bool, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError("No such user. Nurses are created in admin (Nurses → Add nurse).")
        if not user.is_active:
            raise CommandError("This user is inactive.")
        if rotate:
            try:
                key = api_token_rotate(user=user, scope=scope)
            except NoCurrentTokenError:
                raise CommandError("This user has no current key to rotate; run without --rotate.") from None
        else:
            key = api_token_create(user=user, scope=scope or TokenScope.NURSE)
        self.stdout.write(key)
