#!/usr/bin/env bash
# The install step of the README's two commands (scripts/run.sh, scripts/test.sh): .venv with exactly the locked
# releases, each checked against its hash (requirements/lock.txt, made by scripts/lock.sh), then the project itself,
# built with the locked setuptools: nothing unpinned is downloaded. Skipped, in no time, while the lock and
# pyproject.toml are those of the last install (.venv/.sequora-installed; delete it to install again).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
stamp=.venv/.sequora-installed
wanted=$(cat requirements/lock.txt pyproject.toml | cksum)
if [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then exit 0; fi
# The locked pip first: the one a new venv brings (23.x) cannot check hashes of a requirement named with extras
# (pip-audit's CacheControl[filecache]) once an index offers a newer release than the lock's.
pip_lock=$(mktemp)
trap 'rm -f "$pip_lock"' EXIT
awk '/^pip==/ {p = 1; print; next} p && /^[a-z]/ {exit} p' requirements/lock.txt >"$pip_lock"
.venv/bin/python -m pip install --quiet --require-hashes -r "$pip_lock"
.venv/bin/python -m pip install --quiet --require-hashes -r requirements/lock.txt
# (setuptools warns, in a box of 10 lines, that an editable install is one.)
PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
echo "$wanted" >"$stamp"
