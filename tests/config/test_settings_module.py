"""No entry point falls back to a settings module: without DJANGO_SETTINGS_MODULE, manage.py, the WSGI and ASGI
applications, the Celery app and gunicorn refuse to start with one line naming the value to set."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = (
    "error: DJANGO_SETTINGS_MODULE is not set: set it to config.settings.local for development "
    "(config.settings.production in production, config.settings.test for the tests)."
)


def run(*command: str, settings: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    if settings:
        env["DJANGO_SETTINGS_MODULE"] = settings
    return subprocess.run(  # noqa: S603
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "manage.py", "check"],
        [sys.executable, "-c", "import config.wsgi"],
        [sys.executable, "-c", "import config.asgi"],
        [sys.executable, "-m", "celery", "-A", "config.celery_app", "report"],
    ],
    ids=["manage.py", "wsgi", "asgi", "celery"],
)
def test_an_entry_point_without_a_settings_module_refuses_to_start(command):
    result = run(*command)

    assert result.returncode == 3
    assert result.stderr.strip() == MESSAGE
    assert result.stdout == ""


def test_gunicorn_stops_for_good_instead_of_restarting_workers():
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))

    result = run(gunicorn, "-c", "config/gunicorn.py", "config.wsgi", "--bind", "127.0.0.1:0", "--workers", "1")

    assert result.returncode != 0
    assert MESSAGE in result.stderr
    assert "Worker failed to boot" in result.stderr


def test_with_the_settings_module_named_manage_py_runs():
    result = run(sys.executable, "manage.py", "check", settings="config.settings.test")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
