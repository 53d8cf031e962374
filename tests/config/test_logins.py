"""Logins: lockout after repeated failures (per name and address, and per address), a one-time password for admin (the
only login), 12-character passwords, idle sessions."""

import datetime as dt
import io
import stat
from unittest import mock

import pytest
import time_machine
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from care_events.platform.audit.models import AuditEntry
from tests.config.test_production import REAL_BACKENDS, load_settings
from tests.helpers import admin_login, force_admin_login, totp_code
from tests.tasks_app.factories import NurseFactory, nurse_with_login

pytestmark = pytest.mark.django_db

ADMIN_HOME = "/admin/"


def counting_password_checks():
    """Counts the password hashes computed (the test settings' hasher), calling the real one."""
    return mock.patch.object(MD5PasswordHasher, "verify", autospec=True, side_effect=MD5PasswordHasher.verify)


def admin_form(user, password, token=""):
    return {"username": user.get_username(), "password": password, "otp_token": token}


def test_a_hundred_wrong_passwords_lock_the_admin_login_and_stop_costing_hashes(client, admin_user, settings):
    device = TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)

    with counting_password_checks() as hashes:
        answers = [client.post(reverse("admin:login"), admin_form(admin_user, f"guess-{n}")) for n in range(100)]
        right = client.post(reverse("admin:login"), admin_form(admin_user, "password", totp_code(device)))

    limit = settings.AXES_FAILURE_LIMIT
    assert [a.status_code for a in answers[: limit - 1]] == [200] * (limit - 1)  # the form, with its error
    assert {a.status_code for a in answers[limit - 1 :]} == {429}
    assert right.status_code == 429
    assert client.get(ADMIN_HOME).status_code == 302  # not logged in
    assert hashes.call_count == limit  # once locked, refused before any password is hashed
    failed = AuditEntry.objects.filter(action="login.failed", username="admin")
    assert failed.count() == 101
    assert failed.filter(detail__reason="locked_out").count() == 101 - (limit - 1)


def counting_all_hashes():
    """Counts every hash of a password (encode): a check of an account's password hashes it (verify calls encode), and
    for a name that is no account's Django hashes it all the same, so that both answers take as long."""
    return mock.patch.object(MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode)


def test_one_password_sprayed_across_many_names_is_stopped_per_address(client, settings):
    nurse = NurseFactory()  # password "correct-horse-battery"
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    names = [f"nurse{n}@hospital.example" for n in range(100)]

    with counting_all_hashes() as hashes:
        answers = [
            client.post(
                reverse("admin:login"),
                {"username": name, "password": "Winter2026!", "otp_token": ""},
                REMOTE_ADDR="203.0.113.7",
            ).status_code
            for name in names
        ]
        own = client.post(
            reverse("admin:login"), admin_form(nurse.user, "correct-horse-battery"), REMOTE_ADDR="203.0.113.7"
        )

    assert answers[: limit - 1] == [200] * (limit - 1)
    assert set(answers[limit - 1 :]) == {429}  # each name was tried once only: the address is what is limited
    assert own.status_code == 429  # the right password too, from that address, until the cool-off ends
    assert hashes.call_count == limit  # no hash once the address is locked
    other = client.post(reverse("admin:login"), admin_form(nurse.user, "wrong"), REMOTE_ADDR="198.51.100.4")
    assert other.status_code == 200  # another address is not locked out by it


def test_an_address_opens_again_after_the_cool_off(client, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    nurse = NurseFactory()
    for n in range(3):
        client.post(reverse("admin:login"), {"username": f"x{n}", "password": "p", "otp_token": ""})
    locked = client.post(reverse("admin:login"), admin_form(nurse.user, "correct-horse-battery"))
    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + dt.timedelta(minutes=1)):
        opened = client.post(reverse("admin:login"), admin_form(nurse.user, "correct-horse-battery"))

    assert locked.status_code == 429
    assert opened.status_code == 200  # the form again: the password was checked (no code given)
    assert opened.context["form"].non_field_errors()


def test_the_lockout_is_per_name_and_address(client, admin_user):
    def attempt(username: str, address: str) -> int:
        form = {"username": username, "password": "wrong", "otp_token": ""}
        return client.post(reverse("admin:login"), form, REMOTE_ADDR=address).status_code

    for _ in range(10):
        attempt("admin", "203.0.113.9")

    assert attempt("admin", "203.0.113.9") == 429
    # Another address, or another name from the same address, is not locked out by them.
    assert attempt("admin", "198.51.100.4") == 200
    assert attempt("someone-else", "203.0.113.9") == 200


def test_admin_refuses_the_right_password_without_a_valid_one_time_password(client, admin_user):
    device = TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    wrong_code = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"

    no_code = client.post(reverse("admin:login"), admin_form(admin_user, "password"))
    bad_code = client.post(reverse("admin:login"), admin_form(admin_user, "password", wrong_code))

    assert (no_code.status_code, bad_code.status_code) == (200, 200)  # the form again, with its error
    assert client.get(ADMIN_HOME).status_code == 302
    assert AuditEntry.objects.filter(action="login.failed", user_id=admin_user.pk, detail__reason="otp").exists()


def test_a_user_without_a_device_cannot_open_admin_and_is_told_to_ask_for_one(client, admin_user):
    with_code = client.post(reverse("admin:login"), admin_form(admin_user, "password", "123456"))
    without_code = client.post(reverse("admin:login"), admin_form(admin_user, "password"))

    for response in (with_code, without_code):
        assert response.status_code == 200
        assert response.context["form"].non_field_errors() == [
            "No authenticator is enrolled for this account: ask an administrator."
        ]
    assert client.get(ADMIN_HOME).status_code == 302
    # Only after the right password: a wrong one is told nothing about the account's authenticator.
    wrong = client.post(reverse("admin:login"), admin_form(admin_user, "wrong-password", "123456"))
    assert "authenticator" not in str(wrong.context["form"].non_field_errors())


def test_a_code_that_has_just_opened_a_login_is_refused_with_its_own_words(client, admin_user):
    device = TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    code = totp_code(device)
    first = client.post(reverse("admin:login"), admin_form(admin_user, "password", code))
    client.logout()

    again = client.post(reverse("admin:login"), admin_form(admin_user, "password", code))

    assert first.status_code == 302
    assert again.status_code == 200
    assert again.context["form"].non_field_errors() == ["This code was just used: wait for the next one."]
    assert client.get(ADMIN_HOME).status_code == 302
    assert AuditEntry.objects.filter(action="login.failed", user_id=admin_user.pk, detail__reason="otp").count() == 1


def test_a_wrong_code_is_told_apart_from_a_used_one(client, admin_user):
    device = TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    wrong_code = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"

    response = client.post(reverse("admin:login"), admin_form(admin_user, "password", wrong_code))

    assert response.context["form"].non_field_errors() == [
        "That is not the code your authenticator app shows now: check it and try again."
    ]


def test_the_api_has_no_password_only_login(client, admin_user):
    """The API's session login made a session from a password alone; there is none now (tests/api/test_second_factor.py
    walks every API route with such a session)."""
    response = client.post("/api/auth/login/", {"username": "admin", "password": "password"})

    assert response.status_code == 404
    assert client.get(ADMIN_HOME).status_code == 302


def test_the_login_page_asks_for_the_code_and_with_it_admin_opens(client, admin_user):
    page = client.get(reverse("admin:login")).content.decode()
    admin_login(client, admin_user)

    assert 'name="otp_token"' in page
    assert client.get(ADMIN_HOME).status_code == 200


def test_without_mfa_required_a_password_opens_admin(client, admin_user, settings):
    settings.ADMIN_MFA_REQUIRED = False

    page = client.get(reverse("admin:login")).content.decode()
    response = client.post(reverse("admin:login"), {"username": "admin", "password": "password"})

    assert 'name="otp_token"' not in page
    assert response.status_code == 302
    assert client.get(ADMIN_HOME).status_code == 200


def test_a_password_of_11_characters_is_refused_and_12_accepted():
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Kq8#vT2!mZp")
    validate_password("Kq8#vT2!mZpL")


def test_a_session_ends_after_the_idle_timeout_and_at_browser_close(client, admin_user, settings):
    idle = dt.timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        response = admin_login(client, admin_user).get(ADMIN_HOME)
        assert response.status_code == 200
        assert client.cookies["sessionid"]["max-age"] == ""  # a browser-session cookie: gone when it closes
        clock.shift(idle - dt.timedelta(minutes=1))
        assert client.get(ADMIN_HOME).status_code == 200  # activity pushes the expiry back
        clock.shift(idle - dt.timedelta(minutes=1))
        assert client.get(ADMIN_HOME).status_code == 200
        clock.shift(idle + dt.timedelta(seconds=1))
        assert client.get(ADMIN_HOME).status_code == 302  # idle too long: logged out


def test_enrol_totp_prints_the_url_and_a_qr_code_and_replaces_only_when_asked(admin_user):
    out = io.StringIO()
    call_command("enrol_totp", "admin", stdout=out)

    device = TOTPDevice.objects.get(user=admin_user)
    assert device.confirmed
    assert device.config_url in out.getvalue()
    assert "█" in out.getvalue()  # the QR code
    with pytest.raises(CommandError, match="--replace"):
        call_command("enrol_totp", "admin", stdout=io.StringIO())
    call_command("enrol_totp", "admin", "--replace", stdout=io.StringIO())
    assert TOTPDevice.objects.get(user=admin_user).pk != device.pk


def test_show_totp_shows_the_qr_code_again_where_run_sh_keeps_its_run_dir(admin_user, settings, tmp_path):
    device = TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    settings.RUN_DIR = tmp_path
    out = io.StringIO()

    call_command("show_totp", "admin", stdout=out)

    assert device.config_url in out.getvalue()
    assert "█" in out.getvalue()


def test_show_totp_refuses_without_a_run_dir_and_says_how_to_enrol_again(admin_user, settings, tmp_path):
    TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    settings.RUN_DIR = tmp_path / "absent"
    out = io.StringIO()

    with pytest.raises(CommandError, match=r"runs only where scripts/run.sh keeps \.run/.*enrol_totp admin --replace"):
        call_command("show_totp", "admin", stdout=out)
    assert out.getvalue() == ""


def test_show_totp_names_a_user_without_an_authenticator(admin_user, settings, tmp_path):
    settings.RUN_DIR = tmp_path

    with pytest.raises(CommandError, match=r"admin has no authenticator enrolled: manage\.py enrol_totp admin"):
        call_command("show_totp", "admin", stdout=io.StringIO())


def test_the_first_runs_admin_url_is_kept_in_a_file_only_its_owner_reads(tmp_path):
    totp_file, out = tmp_path / "admin-totp", io.StringIO()

    call_command("ensure_admin", "--password", "a-long-enough-password", "--totp-file", str(totp_file), stdout=out)

    device = TOTPDevice.objects.get(user__username="admin")
    assert totp_file.read_text() == device.config_url + "\n"
    assert stat.S_IMODE(totp_file.stat().st_mode) == 0o600
    assert "█" not in out.getvalue() and device.config_url not in out.getvalue()  # run.sh's banner shows it


def test_production_refuses_admin_without_a_one_time_password():
    refused = load_settings(**REAL_BACKENDS, ADMIN_MFA_REQUIRED="false")
    started = load_settings(**REAL_BACKENDS)

    assert refused.returncode != 0
    assert "ADMIN_MFA_REQUIRED=false is refused in production" in refused.stderr
    assert started.returncode == 0, started.stderr


def test_the_first_runs_admin_gets_a_totp_device_and_its_qr_code():
    out = io.StringIO()

    call_command("ensure_admin", "--password", "a-long-enough-password", stdout=out)

    device = TOTPDevice.objects.get(user__username="admin")
    assert device.confirmed
    assert device.config_url in out.getvalue()


def test_flower_opens_only_to_a_superusers_session_verified_by_a_one_time_password(client, admin_user):
    """The proxy asks this before Flower's own credential (deploy/Caddyfile: forward_auth; tests/config/test_proxy.py
    runs it in a real Caddy), so a guess at Flower's password costs a bcrypt hash only from such a session."""
    url, wanted = "/admin/flower-access/", {"HTTP_X_FORWARDED_URI": "/flower/tasks"}
    anonymous = client.get(url, **wanted)
    client.force_login(admin_user)  # the right password, no one-time password
    password_only = client.get(url, **wanted)
    force_admin_login(client, admin_user)
    verified = client.get(url, **wanted)
    staff = force_admin_login(Client(), nurse_with_login().user).get(url, **wanted)

    assert anonymous.status_code == password_only.status_code == 302
    assert anonymous["Location"] == "/admin/login/?next=/flower/tasks"
    assert verified.status_code == 204
    assert staff.status_code == 403
