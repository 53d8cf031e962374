#!/usr/bin/env bash
# One command runs the product on this machine: installs it into .venv, makes sure PostgreSQL and Redis
# answer, migrates, and runs the web app (API + admin), a Celery worker, Celery Beat and Flower until Ctrl-C.
# Local settings (config.settings.local) and the local in-memory notification backend: nothing leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.local}
PORT=${PORT:-8000}
FLOWER_PORT=${FLOWER_PORT:-5555}

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
bash scripts/services.sh

py=.venv/bin/python
$py manage.py migrate --noinput
$py manage.py collectstatic --noinput >/dev/null
$py manage.py ensure_admin

mkdir -p run
# Ctrl-C (or a TERM) stops every process this script started: they share its process group.
trap 'trap - INT TERM EXIT; kill 0 2>/dev/null; wait' INT TERM EXIT

supervise() {  # supervise NAME COMMAND...: start COMMAND again whenever it dies, as a process manager would
    local name=$1; shift
    while true; do
        "$@" || true
        echo "$name stopped; starting it again in 2 s" >&2
        sleep 2
    done
}

supervise web $py manage.py runserver "0.0.0.0:$PORT" --noreload &
supervise worker .venv/bin/celery -A config.celery_app worker -Q urgent,default --loglevel INFO --concurrency 2 &
supervise beat .venv/bin/celery -A config.celery_app beat --loglevel INFO --schedule run/celerybeat-schedule &
supervise flower .venv/bin/celery -A config.celery_app flower --port="$FLOWER_PORT" \
    --basic-auth="${FLOWER_BASIC_AUTH:-admin:admin}" >run/flower.log 2>&1 &

echo
echo "Sequora is running:"
echo "  admin   http://127.0.0.1:$PORT/admin/   (user admin, password \$SEQUORA_ADMIN_PASSWORD or 'admin')"
echo "  Flower  http://127.0.0.1:$FLOWER_PORT/  (basic auth \$FLOWER_BASIC_AUTH or admin:admin)"
echo "  API     http://127.0.0.1:$PORT/api/docs/  (agent token: .venv/bin/python manage.py create_agent_token interaction-agent)"
echo "Ctrl-C stops everything. A process that dies (a killed worker, say) is started again."
wait
