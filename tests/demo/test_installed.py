"""The demo app is installed for local and test settings and left out of production, where `manage.py demo` does not
exist. That nothing imports it is an import contract (pyproject.toml, lint-imports)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.apps import apps
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]


def manage(settings: str, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFICATION_", "DJANGO_"))}
    env = {
        **clean,
        "DJANGO_SETTINGS_MODULE": settings,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "care.example.org",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sequora"),
        "NOTIFICATION_ALLOW_LOCAL_BACKEND": "true",
    }
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_demo_command_is_the_demo_apps_under_test_settings():
    assert apps.is_installed("demo")
    assert get_commands()["demo"] == "demo"


def test_production_has_no_demo_command():
    result = manage("config.settings.production", "help", "demo")
    assert result.returncode != 0
    assert "Unknown command: 'demo'" in result.stderr


def test_local_settings_have_the_demo_command():
    result = manage("config.settings.local", "help", "demo")
    assert result.returncode == 0, result.stderr
    assert "--resolve" in result.stdout


def test_the_demo_refuses_production_settings_even_with_the_app_put_back():
    """Issue 19 row 8: three made-up nurses, one a supervisor, were put on the live roster. A settings module built on
    production's that installs the demo app again still cannot play it: a clear error, exit 1, no account made."""
    result = manage("tests.demo.production_with_demo", "demo", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1, result.stderr
    assert "manage.py demo refuses to run with production settings" in result.stderr
    assert "Demo accounts ready" not in result.stdout
