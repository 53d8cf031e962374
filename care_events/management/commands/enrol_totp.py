from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from care_events.platform.mfa import AlreadyEnrolledError, qr_text, totp_enrol


class Command(BaseCommand):
    help = (
        "Give a user a TOTP device for the admin's second factor, and print its otpauth:// URL and a QR code to "
        "scan with an authenticator app (shown once: the secret is not printed again)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--replace", action="store_true", help="Delete the user's TOTP devices first (a lost or new phone)."
        )

    def handle(self, *args: Any, username: str, replace: bool = False, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError("No such user.")
        try:
            device = totp_enrol(user=user, replace=replace)
        except AlreadyEnrolledError:
            raise CommandError("This user has a TOTP device already; --replace to replace it.") from None
        self.stdout.write(qr_text(device.config_url))
        self.stdout.write(device.config_url)
        self.stdout.write(f"Scan it with an authenticator app; admin asks for its code after {username}'s password.")
