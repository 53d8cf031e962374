#!/usr/bin/env bash
# The README's test command: installs the project into .venv, brings up PostgreSQL and Redis (your servers when
# DATABASE_URL / REDIS_URL are set, otherwise private embedded ones, scripts/services.py), then runs ruff, mypy,
# the dependency audit (scripts/audit.py), the migrations check and the whole pytest suite, real Celery workers
# included. Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

# Exactly the locked releases, checked against their hashes, then the project (scripts/install.sh).
bash scripts/install.sh

# pytest always runs with the test settings (pyproject.toml gives --ds), whatever this shell exports.
export DJANGO_SETTINGS_MODULE=config.settings.test

echo "--- pip-audit (requirements/lock.txt)"
.venv/bin/python scripts/audit.py requirements/lock.txt

eval "$(.venv/bin/python scripts/services.py up)"
trap '.venv/bin/python scripts/services.py down' EXIT

echo "--- ruff"
.venv/bin/ruff check .
echo "--- mypy"
.venv/bin/mypy config care_events tasks_app notifications
echo "--- makemigrations --check"
.venv/bin/python manage.py makemigrations --check --dry-run
echo "--- pytest"
.venv/bin/python -m pytest "$@"
