from typing import Any

from django.core.management.base import BaseCommand
from py_vapid import Vapid  # pywebpush's own VAPID library
from py_vapid.utils import b64urlencode

from notifications.backends.push import application_server_key


class Command(BaseCommand):
    help = (
        "Generate a VAPID key pair for Web Push and print it as .env lines: VAPID_PUBLIC_KEY (the browsers' "
        "applicationServerKey) and VAPID_PRIVATE_KEY (keep it secret). Generate once: a new pair invalidates every "
        "browser subscribed with the old public key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        vapid = Vapid()
        vapid.generate_keys()
        # The private key as its raw 32-byte scalar, base64url: the form pywebpush reads from a string.
        private = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
        self.stdout.write(f"VAPID_PUBLIC_KEY={application_server_key(vapid)}")
        self.stdout.write(f"VAPID_PRIVATE_KEY={b64urlencode(private)}")
