"""The admin's second factor: TOTP devices (django-otp), enrolled from the server's command line.

`manage.py enrol_totp <username>` gives a user a TOTP device and prints its otpauth:// URL and a QR code for an
authenticator app; admin then asks for the app's current six-digit code after the password
(care_events/platform/admin.py).
"""

import io

import qrcode
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice


class AlreadyEnrolledError(Exception):
    """The user has a TOTP device already (replace it explicitly)."""


@transaction.atomic
def totp_enrol(*, user: AbstractBaseUser, replace: bool = False) -> TOTPDevice:
    """A new confirmed TOTP device for `user`; with `replace`, the user's other TOTP devices are deleted (a lost
    phone), otherwise a user who has one gets AlreadyEnrolledError."""
    existing = TOTPDevice.objects.filter(user=user)
    if existing.exists():
        if not replace:
            raise AlreadyEnrolledError(user.get_username())
        existing.delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def totp_device_of(*, user: AbstractBaseUser) -> TOTPDevice | None:
    """The user's confirmed TOTP device (an enrolled user has one: totp_enrol replaces, never adds)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").last()


def totp_code_just_used(device: TOTPDevice, token: str) -> bool:
    """`token` is the code that last opened a login with `device`: django-otp accepts a code once (later ones must be
    of a later time step, TOTPDevice.last_t), so this one is refused, though the app may still show it."""
    if device.last_t < 0 or not token.strip().isdigit():
        return False
    return int(token) == hotp(device.bin_key, device.last_t, digits=device.digits)


def qr_text(url: str) -> str:
    """`url` as a QR code drawn with block characters, for a terminal."""
    code = qrcode.QRCode(border=2)
    code.add_data(url)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()
