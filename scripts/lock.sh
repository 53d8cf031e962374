#!/usr/bin/env bash
# Regenerates the lock files from pyproject.toml, every package pinned with its hashes (pip-tools):
#   requirements/lock.txt     the project with its dev extra: what scripts/test.sh, scripts/run.sh and CI install
#   requirements/runtime.txt  the project alone: what the Dockerfile installs
# Run it after changing a dependency in pyproject.toml: `bash scripts/lock.sh` (add --upgrade to move every pin to
# the newest release the floors and caps allow). The runtime lock starts from the dev lock's pins, so both files
# agree on every version they share.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/pip-compile ]; then
    echo "error: .venv/bin/pip-compile is missing: run bash scripts/test.sh once (or pip install pip-tools)" >&2
    exit 1
fi
compile() {  # compile OUTPUT [pip-compile options]
    local output=$1; shift
    .venv/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
        --no-emit-find-links --no-emit-trusted-host --resolver backtracking \
        --output-file "$output" "$@" pyproject.toml
}
compile requirements/lock.txt --extra dev "$@"
cp requirements/lock.txt requirements/runtime.txt
compile requirements/runtime.txt
echo "requirements/lock.txt and requirements/runtime.txt are up to date; commit them with pyproject.toml."
