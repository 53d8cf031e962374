"""The settings module is always chosen explicitly: no entry point (manage.py, WSGI, ASGI, the Celery app) falls
back to a default one, since the development settings (DEBUG on, a known key) must never start by default in
production.

The one thing that names it instead of an export: the record that `scripts/run.sh` keeps while it runs
(.run/product.env, written by scripts/services.py). It holds the settings module the running product uses and the
URLs of the servers it runs on, so that a second shell in the same checkout (`manage.py demo`, `manage.py
enrol_totp`) reaches the same product without any export (config/settings/environment.py reads the URLs). A record
counts only while the run.sh process it names is alive; a production image has no .run/ (.dockerignore)."""

import os
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where scripts/run.sh keeps its passwords, logs, embedded servers' data and its record (git ignores it).
RUN_DIR = Path(os.environ.get("SEQUORA_RUN_DIR") or ROOT / ".run").resolve()
RECORD = RUN_DIR / "product.env"

MESSAGE = (
    "DJANGO_SETTINGS_MODULE is not set. For development type:\n"
    "    export DJANGO_SETTINGS_MODULE=config.settings.local\n"
    "(on a server: config.settings.production). While scripts/run.sh runs in this directory, no export is needed."
)
# gunicorn's "worker failed to boot" status: its master stops for good instead of starting the worker again and
# again. manage.py and Celery exit with it too.
EXIT_STATUS = 3


def running_product() -> dict[str, str]:
    """The record of the scripts/run.sh running from this checkout (its pid, settings module, URLs), or {} when
    none runs: no record, or one whose process has gone (killed without its clean-up)."""
    try:
        text = RECORD.read_text()
    except OSError:
        return {}
    record = {}
    for line in text.splitlines():
        name, equals, value = line.partition("=")
        if equals and not name.startswith("#"):
            record[name.strip()] = " ".join(shlex.split(value))
    pid = record.get("SEQUORA_RUN_PID", "")
    return record if pid.isdigit() and run_sh_alive(int(pid)) else {}


def run_sh_alive(pid: int) -> bool:
    """Process `pid` runs, and is a run.sh where the system says what a process runs (a pid taken again by another
    program after a crash does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"run.sh" in cmdline.read_bytes()
    except OSError:
        return not cmdline.parent.parent.is_dir()  # no /proc (macOS): the pid's existence is all we know


def require_settings_module() -> None:
    """Exits with a short message naming the export to type when DJANGO_SETTINGS_MODULE is unset or empty and no
    run.sh of this checkout names one.

    Called by manage.py, config/wsgi.py, config/asgi.py and the Celery app (which the `config` package imports, so
    every process that imports the project passes here)."""
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        return
    recorded = running_product().get("DJANGO_SETTINGS_MODULE")
    if recorded:
        os.environ["DJANGO_SETTINGS_MODULE"] = recorded
        return
    sys.stderr.write(f"error: {MESSAGE}\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_STATUS)
