#!/usr/bin/env bash
# The README's run command: installs the project into .venv, brings up PostgreSQL and Redis (yours when DATABASE_URL
# / REDIS_URL are set, otherwise private embedded ones: scripts/services.py), migrates, and serves the product the
# way production does (gunicorn with WhiteNoise, a Celery worker on the urgent and default queues, one on the
# backstop queue, Celery Beat, Flower) until Ctrl-C, which stops every process it started, the embedded servers
# included. Local settings and the local in-memory notification backend by default: nothing leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.local}
PORT=${PORT:-8000}
FLOWER_PORT=${FLOWER_PORT:-5555}
BIND=${SEQUORA_BIND_ADDRESS:-127.0.0.1}
RUN=.run

port_taken() {  # port_taken PORT: something already listens on it
    .venv/bin/python - "$1" <<'PY'
import socket, sys
with socket.socket() as s:
    s.settimeout(0.5)
    sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

secret() {  # secret FILE: a password made on the first run, kept in FILE (git ignores .run/)
    if [ ! -s "$1" ]; then
        (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))' >"$1")
        echo "new" >"$1.new"
    fi
    cat "$1"
}

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

for port in "$PORT" "$FLOWER_PORT"; do
    if port_taken "$port"; then
        echo "error: port $port is already in use (another Sequora, or another program)." >&2
        echo "       Stop it, or choose other ports: PORT=8001 FLOWER_PORT=5556 bash scripts/run.sh" >&2
        exit 1
    fi
done

mkdir -p "$RUN"
eval "$(.venv/bin/python scripts/services.py up)"
export DATABASE_URL REDIS_URL SEQUORA_STARTED_SERVICES

# Ctrl-C (or a TERM) stops every process this script started, then the embedded servers it started. Each
# supervise loop is stopped before its process, so that it cannot start the process again.
cleanup() {
    trap - EXIT
    trap '' INT TERM
    local loops procs=""
    loops=$(jobs -p)
    for pid in $loops; do procs="$procs $(pgrep -P "$pid" | tr '\n' ' ')"; done
    kill $loops 2>/dev/null || true
    kill $procs 2>/dev/null || true
    wait 2>/dev/null || true
    .venv/bin/python scripts/services.py down
}
trap cleanup INT TERM EXIT

py=.venv/bin/python
$py manage.py migrate --noinput
$py manage.py collectstatic --noinput >/dev/null

export SEQUORA_ADMIN_PASSWORD=${SEQUORA_ADMIN_PASSWORD:-$(secret "$RUN/admin-password")}
FLOWER_BASIC_AUTH=${FLOWER_BASIC_AUTH:-admin:$(secret "$RUN/flower-password")}
$py manage.py ensure_admin

supervise() {  # supervise NAME COMMAND...: start COMMAND again whenever it dies, as a process manager would
    local name=$1; shift
    while true; do
        "$@" || true
        echo "$name stopped; starting it again in 2 s" >&2
        sleep 2
    done
}

supervise web .venv/bin/gunicorn config.wsgi --bind "$BIND:$PORT" --workers 2 --timeout 30 \
    --access-logfile - --access-logformat '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss' &
supervise worker .venv/bin/celery -A config.celery_app worker -Q urgent,default --loglevel INFO --concurrency 2 &
# The backstops (timer sweep, relays, the timers' horizon job) on their own queue and process: a backlog of ordinary
# work never delays them (docs/architecture.md#durability).
supervise backstop .venv/bin/celery -A config.celery_app worker -Q backstop --hostname backstop@%h --loglevel INFO \
    --concurrency 1 &
supervise beat .venv/bin/celery -A config.celery_app beat --loglevel INFO --schedule "$RUN/celerybeat-schedule" &
supervise flower .venv/bin/celery -A config.celery_app flower --address="$BIND" --port="$FLOWER_PORT" \
    --basic-auth="$FLOWER_BASIC_AUTH" >"$RUN/flower.log" 2>&1 &

for _ in $(seq 1 60); do port_taken "$PORT" && break; sleep 0.5; done
echo
echo "Sequora is running:"
echo "  admin   http://$BIND:$PORT/admin/   user admin"
if [ -e "$RUN/admin-password.new" ]; then
    echo "          password $SEQUORA_ADMIN_PASSWORD   (made now, kept in $RUN/admin-password; shown once)"
    rm -f "$RUN/admin-password.new"
fi
echo "  Flower  http://$BIND:$FLOWER_PORT/   user ${FLOWER_BASIC_AUTH%%:*}"
if [ -e "$RUN/flower-password.new" ]; then
    echo "          password ${FLOWER_BASIC_AUTH#*:}   (made now, kept in $RUN/flower-password; shown once)"
    rm -f "$RUN/flower-password.new"
fi
echo "  API     http://$BIND:$PORT/api/docs/   (agent token: .venv/bin/python manage.py create_agent_token interaction-agent)"
echo "  Health  http://$BIND:$PORT/readyz   Metrics http://$BIND:$PORT/metrics"
echo "Ctrl-C stops everything. A process that dies (a killed worker, say) is started again."
wait
