"""Runs the product's own queued work in the test process, through the same functions the Celery tasks call; and
logs a user in to admin with a one-time password.

Tests of the workflows' logic use this; tests of locks, redelivery and timers against a real worker are in
tests/test_worker_*.py.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from care_events.platform.bus.dispatch import handler_run_execute
from care_events.platform.bus.models import Event, HandlerRun
from care_events.platform.bus.timers import timers_fire_due
from notifications.models import NotificationLog
from notifications.services.delivery import notification_deliver


def drain(max_rounds: int = 50) -> None:
    """Run every pending handler run, due timer and pending delivery until nothing is left to do now."""
    for _ in range(max_rounds):
        progressed = False
        now = timezone.now()
        for run_id in HandlerRun.objects.filter(status="PENDING", next_attempt_at__lte=now).values_list(
            "pk", flat=True
        ):
            progressed |= handler_run_execute(run_id=run_id)
        progressed |= timers_fire_due() > 0
        for log_id in NotificationLog.objects.filter(status="PENDING", next_attempt_at__lte=now).values_list(
            "pk", flat=True
        ):
            notification_deliver(notification_id=log_id)
            progressed = True
        if not progressed:
            return
    raise AssertionError("the work did not settle")


def event_names() -> list[str]:
    return list(Event.objects.order_by("created_at").values_list("name", flat=True))


def totp_code(device: TOTPDevice) -> str:
    """The code an authenticator app shows now for this TOTP device."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    return f"{code:0{device.digits}d}"


def admin_login(client: Client, user: AbstractBaseUser, password: str = "password") -> Client:  # noqa: S107
    """Log `user` in to admin as a person does: the password, then the current code of a TOTP device (made here,
    confirmed, as `manage.py enrol_totp` makes one). pytest-django's users have the password "password"."""
    device = TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)
    response = client.post(
        reverse("admin:login"),
        {"username": user.get_username(), "password": password, "otp_token": totp_code(device)},
    )
    assert response.status_code == 302, "the admin login was refused"
    return client


def force_admin_login(client: Client, user: AbstractBaseUser) -> Client:
    """`client.force_login` for admin: the session also holds a verified TOTP device, as after admin's login form
    with a code (django-otp keeps the device's id in the session). For tests that are not about logging in."""
    device = TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
