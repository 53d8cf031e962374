#!/usr/bin/env bash
# The README's test command: installs the project into .venv, brings up PostgreSQL and Redis (your servers when
# DATABASE_URL / REDIS_URL are set, otherwise private embedded ones, scripts/services.py), then runs the dependency
# audit (scripts/audit.py), ruff, the import contracts (lint-imports), mypy, the migrations check and the whole pytest
# suite, real Celery workers included. Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

# Exactly the locked releases, checked against their hashes, then the project (scripts/install.sh).
bash scripts/install.sh

# pytest always runs with the test settings (pyproject.toml gives --ds), whatever this shell exports.
export DJANGO_SETTINGS_MODULE=config.settings.test

echo "--- pip-audit (requirements/lock.txt)"
# When no advisory source answers (a machine without a route to OSV or PyPI's API, as CI's is) the audit prints one
# line, "pip-audit: the audit could not run, ...", and the tests go on; AUDIT_REQUIRED=1 (a release build with
# network) makes that a failure (exit 3). A source that answers and knows a vulnerability always fails.
allow=(--allow-unaudited)
[ "${AUDIT_REQUIRED:-0}" = 1 ] && allow=()
.venv/bin/python scripts/audit.py requirements/lock.txt "${allow[@]}"

eval "$(.venv/bin/python scripts/services.py up)"
trap '.venv/bin/python scripts/services.py down' EXIT

echo "--- ruff"
.venv/bin/ruff check .
echo "--- import contracts (lint-imports: the layers of docs/architecture.md)"
.venv/bin/lint-imports --no-cache
echo "--- mypy"
.venv/bin/mypy config care_events tasks_app notifications intake reports demo
echo "--- makemigrations --check"
.venv/bin/python manage.py makemigrations --check --dry-run
echo "--- pytest"
.venv/bin/python -m pytest "$@"
