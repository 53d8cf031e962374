#!/usr/bin/env bash
# The README's test command: installs the project into .venv, brings up PostgreSQL and Redis (your servers when
# DATABASE_URL / REDIS_URL are set, otherwise private embedded ones, scripts/services.py), then runs ruff, the
# import contracts (lint-imports), mypy,
# the dependency audit (scripts/audit.py), the migrations check and the whole pytest suite, real Celery workers
# included. Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

# Exactly the locked releases, each checked against its hash (requirements/lock.txt, made by scripts/lock.sh), then
# the project itself, built with the locked setuptools: nothing unpinned is downloaded.
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install --quiet --require-hashes -r requirements/lock.txt
.venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .

# pytest always runs with the test settings (pyproject.toml gives --ds), whatever this shell exports.
export DJANGO_SETTINGS_MODULE=config.settings.test

echo "--- pip-audit (requirements/lock.txt)"
.venv/bin/python scripts/audit.py requirements/lock.txt

eval "$(.venv/bin/python scripts/services.py up)"
trap '.venv/bin/python scripts/services.py down' EXIT

echo "--- ruff"
.venv/bin/ruff check .
echo "--- import contracts (lint-imports: the layers of docs/architecture.md)"
.venv/bin/lint-imports --no-cache
echo "--- mypy"
.venv/bin/mypy config care_events tasks_app notifications
echo "--- makemigrations --check"
.venv/bin/python manage.py makemigrations --check --dry-run
echo "--- pytest"
.venv/bin/python -m pytest "$@"
