#!/usr/bin/env bash
# The README's test command: installs the project into .venv, brings up PostgreSQL and Redis (your servers when
# DATABASE_URL / REDIS_URL are set, otherwise private embedded ones, scripts/services.py), then runs ruff, mypy,
# the migrations check and the whole pytest suite, real Celery workers included. Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

eval "$(.venv/bin/python scripts/services.py up)"
trap '.venv/bin/python scripts/services.py down' EXIT

echo "--- ruff"
.venv/bin/ruff check .
echo "--- mypy"
.venv/bin/mypy config care_events tasks_app notifications
echo "--- makemigrations --check"
DJANGO_SETTINGS_MODULE=config.settings.test .venv/bin/python manage.py makemigrations --check --dry-run
echo "--- pytest"
.venv/bin/python -m pytest "$@"
