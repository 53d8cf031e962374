"""config.settings.production refuses to start with a channel left on the local in-memory backend, with a
development or weak secret key, or with debug asked for."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "care.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/sequora",
}
REAL_BACKENDS = {
    "NOTIFICATION_SMS_BACKEND": "twilio",
    "NOTIFICATION_VOICE_BACKEND": "twilio-voice",
    "NOTIFICATION_EMAIL_BACKEND": "email",
    "NOTIFICATION_PUSH_BACKEND": "webpush",
}


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFICATION_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**clean, **REQUIRED, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_a_local_backend_naming_the_channels():
    result = load_settings(**{**REAL_BACKENDS, "NOTIFICATION_PUSH_BACKEND": "local"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "Channels PUSH use the local in-memory backend" in result.stderr


def test_production_starts_with_real_backends_or_when_told_the_local_one_is_intended():
    assert load_settings(**REAL_BACKENDS).stdout.strip() == "started"
    assert load_settings(NOTIFICATION_ALLOW_LOCAL_BACKEND="true").stdout.strip() == "started"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "local-only-insecure-key-change-me",  # config.settings.local's
        "test-only-insecure-key",  # config.settings.test's
        "django-insecure-" + secrets.token_urlsafe(40),  # startproject's
        secrets.token_urlsafe(20),  # too short
        "ab" * 40,  # too plain
    ],
)
def test_production_refuses_a_development_or_weak_secret_key(key):
    result = load_settings(**REAL_BACKENDS, DJANGO_SECRET_KEY=key)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr.splitlines()[-1]


def test_production_refuses_a_missing_secret_key():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFICATION_", "DJANGO_"))}
    env = {**clean, **REQUIRED, **REAL_BACKENDS}
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "Set the DJANGO_SECRET_KEY environment variable" in result.stderr


def test_production_refuses_debug_rather_than_ignore_it():
    result = load_settings(**REAL_BACKENDS, DJANGO_DEBUG="true")

    assert result.returncode != 0
    assert "DJANGO_DEBUG is on: production never runs in debug mode" in result.stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TWILIO_API_BASE_URL": "http://api.twilio.com"}, "TWILIO_API_BASE_URL"),
        ({"ANYMAIL_SETTINGS": '{"MAILGUN_API_URL": "http://api.mailgun.net/v3"}'}, "ANYMAIL_SETTINGS[MAILGUN_API_URL]"),
    ],
)
def test_production_refuses_a_plain_http_provider_base_url(env, named):
    """Issue 19 row 15: a plain-http TWILIO_API_BASE_URL sent the account's credentials in clear."""
    result = load_settings(**REAL_BACKENDS, **env)
    assert result.returncode != 0
    assert f"{named}: production calls providers over https only" in result.stderr


def test_production_refuses_push_endpoints_inside_our_network():
    result = load_settings(**REAL_BACKENDS, PUSH_ALLOW_PRIVATE_HOSTS="true")
    assert result.returncode != 0
    assert "PUSH_ALLOW_PRIVATE_HOSTS=true is refused in production" in result.stderr
