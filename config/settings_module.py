"""The settings module is always chosen explicitly: no entry point (manage.py, WSGI, ASGI, the Celery app) falls
back to one, since the development settings (DEBUG on, a known key) must never start by default in production."""

import os
import sys

MESSAGE = (
    "DJANGO_SETTINGS_MODULE is not set: set it to config.settings.local for development "
    "(config.settings.production in production, config.settings.test for the tests)."
)
# gunicorn's "worker failed to boot" status: its master stops for good instead of starting the worker again and
# again. manage.py and Celery exit with it too.
EXIT_STATUS = 3


def require_settings_module() -> None:
    """Exits with a one-line message naming the value to set when DJANGO_SETTINGS_MODULE is unset or empty.

    Called by manage.py, config/wsgi.py, config/asgi.py and the Celery app (which the `config` package imports, so
    every process that imports the project passes here)."""
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        sys.stderr.write(f"error: {MESSAGE}\n")
        sys.stderr.flush()
        raise SystemExit(EXIT_STATUS)
