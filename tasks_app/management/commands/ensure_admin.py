import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from care_events.platform.mfa import qr_text, totp_enrol


class Command(BaseCommand):
    help = (
        "Create the superuser 'admin' if no superuser exists yet (local demo only). "
        "The password is $SEQUORA_ADMIN_PASSWORD, or 'admin' when DEBUG is on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=None)
        parser.add_argument(
            "--totp-file",
            type=Path,
            default=None,
            help="Keep the admin's otpauth:// URL in this file (mode 600) instead of printing its QR code "
            "(scripts/run.sh shows it once every process runs; `manage.py show_totp admin` shows it again).",
        )

    def handle(self, *args: Any, password: str | None = None, totp_file: Path | None = None, **options: Any) -> None:
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            self.stdout.write("A superuser exists already; nothing to do.")
            return
        password = password or os.environ.get("SEQUORA_ADMIN_PASSWORD")
        if not password and settings.DEBUG:
            password = "admin"  # noqa: S105 - local demo only; refused below when DEBUG is off
        if not password:
            raise CommandError("Set SEQUORA_ADMIN_PASSWORD: a default password is only used with DEBUG on.")
        admin = users.create_superuser(username="admin", email="admin@localhost", password=password)
        self.stdout.write(self.style.SUCCESS("Created superuser 'admin'."))
        if not settings.ADMIN_MFA_REQUIRED:
            return
        # Admin asks for a one-time password too: enrol the authenticator app now.
        device = totp_enrol(user=admin)
        if totp_file:
            totp_file.touch(mode=0o600)
            totp_file.chmod(0o600)  # an older file keeps its mode through touch()
            totp_file.write_text(device.config_url + "\n")
            self.stdout.write(f"Its authenticator's otpauth:// URL is in {totp_file}.")
            return
        self.stdout.write(qr_text(device.config_url))
        self.stdout.write(f"{device.config_url}\nScan it with an authenticator app: admin asks for its code.")
