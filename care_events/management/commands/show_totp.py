from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from care_events.platform.mfa import qr_text, totp_device_of


class Command(BaseCommand):
    help = (
        "Show a user's authenticator QR code and otpauth:// URL again (the first run's admin, say), on a developer's "
        "machine only: where scripts/run.sh keeps .run/. Elsewhere enrol a new phone: enrol_totp <username> --replace."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        # A secret shown again is a secret copied: only where the product runs from a checkout for development, whose
        # .run/ keeps the passwords in clear anyway; a server (the image has no .run/) re-enrols instead.
        if not settings.RUN_DIR.is_dir():
            raise CommandError(
                f"show_totp runs only where scripts/run.sh keeps .run/ (not found: {settings.RUN_DIR}). "
                f"To give {username} a new authenticator: manage.py enrol_totp {username} --replace"
            )
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError("No such user.")
        device = totp_device_of(user=user)
        if device is None:
            raise CommandError(f"{username} has no authenticator enrolled: manage.py enrol_totp {username}")
        self.stdout.write(qr_text(device.config_url))
        self.stdout.write(device.config_url)
