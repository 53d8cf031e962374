"""config.settings.production refuses to start with a channel left on the local in-memory backend."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "x" * 50,
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
