#!/usr/bin/env bash
# The README's run command: installs the project into .venv (scripts/install.sh), brings up PostgreSQL and Redis
# (yours when DATABASE_URL / REDIS_URL are set, otherwise private embedded ones: scripts/services.py), migrates, and
# serves the product the way production does (gunicorn with WhiteNoise, a Celery worker on the urgent and default
# queues, one on the backstop queue, Celery Beat, Flower) until Ctrl-C, which stops every process it started, the
# embedded servers included. When every process answers it prints one banner: addresses, passwords and, the first
# time, the admin's QR code. Each process logs into .run/logs/, and only errors reach this terminal, one line each
# (SEQUORA_VERBOSE=1: every line here instead). Local settings and the local in-memory notification backend by
# default: nothing leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
started_at=$SECONDS

# The settings are always named (manage.py, gunicorn and Celery refuse to start without them): the development ones
# unless the caller chose others. Other shells of this checkout take the same ones from this run's record, below.
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.local}
PORT=${PORT:-8000}
FLOWER_PORT=${FLOWER_PORT:-5555}
# The hospital's ADT feed (HL7 v2 over MLLP; docs/integration.md), on the same address as the web app.
export MLLP_PORT=${MLLP_PORT:-2575}
BIND=${SEQUORA_BIND_ADDRESS:-127.0.0.1}
HOST=$BIND
if [ "$BIND" = 0.0.0.0 ]; then HOST=127.0.0.1; fi # the address a browser on this machine opens
WEB=http://$HOST:$PORT
FLOWER=http://$HOST:$FLOWER_PORT
# Nurses' links and Twilio's webhooks are under it; `manage.py demo` in another shell plays its story there.
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-$WEB}
RUN=${SEQUORA_RUN_DIR:-.run}
LOGS=$RUN/logs
VERBOSE=${SEQUORA_VERBOSE:-}
PROCESSES="web worker delivery push backstop beat flower mllp"
py=.venv/bin/python

port_taken() { # port_taken PORT: something already listens on it
    $py - "$1" <<'PY'
import socket, sys
with socket.socket() as s:
    s.settimeout(0.5)
    sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

secret() { # secret FILE: a password made on the first run, kept in FILE (git ignores .run/)
    if [ ! -s "$1" ]; then
        (umask 077 && $py -c 'import secrets; print(secrets.token_urlsafe(12))' >"$1")
    fi
    cat "$1"
}

bash scripts/install.sh

# One run.sh per .run/ (its embedded servers' data): a second one would start a second Beat on the same database.
# The claim is this run's record, .run/product.env, which lets every other shell here reach the same servers with
# no export (config/settings_module.py); it says what runs already, and where, when it refuses.
mkdir -p "$RUN" "$LOGS"
$py scripts/services.py claim $$ "$PUBLIC_BASE_URL" "$FLOWER"

# Ctrl-C (or a TERM) stops every process this script started, then the embedded servers it started, and removes the
# record. Each supervise loop is stopped before its process, so that it cannot start the process again.
export SEQUORA_STARTED_SERVICES=""
cleanup() {
    trap - EXIT
    trap '' INT TERM
    local loops procs=""
    loops=$(jobs -p)
    for pid in $loops; do procs="$procs $(pgrep -P "$pid" | tr '\n' ' ' || true)"; done
    kill $loops 2>/dev/null || true
    kill $procs 2>/dev/null || true
    wait 2>/dev/null || true
    $py scripts/services.py down --release
}
trap cleanup INT TERM EXIT

for port in "$PORT" "$FLOWER_PORT" "$MLLP_PORT"; do
    if port_taken "$port"; then
        echo "error: port $port is in use by another program. Choose free ports, e.g.:" >&2
        echo "       PORT=8001 FLOWER_PORT=5556 MLLP_PORT=2576 bash scripts/run.sh" >&2
        exit 1
    fi
done

exports=$($py scripts/services.py up --record) # an assignment, so that a refusal stops this script
eval "$exports"
export DATABASE_URL REDIS_URL SEQUORA_STARTED_SERVICES

# Each process's output goes to its log (the last run's is kept as NAME.log.1); Python's, unbuffered, as it comes.
quietly() { # quietly NAME COMMAND...: COMMAND's output into NAME's log, shown here only if it fails
    local name=$1; shift
    if [ -n "$VERBOSE" ]; then "$@"; return; fi
    "$@" >"$LOGS/$name.log" 2>&1 || { cat "$LOGS/$name.log" >&2; return 1; }
}
if [ -z "$VERBOSE" ]; then
    export PYTHONUNBUFFERED=1
    for name in $PROCESSES; do
        if [ -s "$LOGS/$name.log" ]; then mv "$LOGS/$name.log" "$LOGS/$name.log.1"; fi
        : >"$LOGS/$name.log"
    done
fi

echo "Migrating the database (a minute the first time) ..."
quietly migrate env DATABASE_STATEMENT_TIMEOUT_MS=0 $py manage.py migrate --noinput  # no statement timeout for a migration
quietly collectstatic $py manage.py collectstatic --noinput

if [ -n "${SEQUORA_ADMIN_PASSWORD:-}" ]; then
    admin_password="yours (SEQUORA_ADMIN_PASSWORD)"
else
    export SEQUORA_ADMIN_PASSWORD=$(secret "$RUN/admin-password")
    admin_password="$SEQUORA_ADMIN_PASSWORD   (kept in $RUN/admin-password)"
fi
if [ -n "${FLOWER_BASIC_AUTH:-}" ]; then
    flower_password="yours (FLOWER_BASIC_AUTH)"
else
    FLOWER_BASIC_AUTH=admin:$(secret "$RUN/flower-password")
    flower_password="${FLOWER_BASIC_AUTH#*:}   (kept in $RUN/flower-password)"
fi
# The admin's authenticator app: its otpauth:// URL is kept in .run/admin-totp (mode 600) when the admin is made.
totp_before=$(cat "$RUN/admin-totp" 2>/dev/null || true)
quietly admin $py manage.py ensure_admin --totp-file "$RUN/admin-totp"
totp_after=$(cat "$RUN/admin-totp" 2>/dev/null || true)

supervise() { # supervise NAME COMMAND...: start COMMAND again whenever it dies, as a process manager would
    local name=$1; shift
    while true; do
        if [ -n "$VERBOSE" ]; then "$@" || true; else "$@" >>"$LOGS/$name.log" 2>&1 || true; fi
        # A pause first: after a Ctrl-C (which its process gets too) the clean-up stops this loop meanwhile.
        sleep 2
        echo "$name stopped; started again (its log: $LOGS/$name.log)" >&2
    done
}

echo "Starting the web app, four Celery workers, Beat, Flower and the MLLP listener ..."
# gunicorn's settings, its access log without query strings included, are production's (config/gunicorn.py).
supervise web .venv/bin/gunicorn -c config/gunicorn.py config.wsgi --bind "$BIND:$PORT" --workers 2 &
supervise worker .venv/bin/celery -A config.celery_app worker -Q urgent,default --loglevel INFO --concurrency 2 &
# A real provider's calls (Twilio, email, push) on their own queue, in threads: they wait on the network, and a slow
# provider never holds the worker that assigns tasks (docs/operations.md#workers-and-queues).
supervise delivery .venv/bin/celery -A config.celery_app worker -Q delivery -P threads --concurrency 16 \
    --hostname delivery@%h --loglevel INFO &
# Web Push on its own queue, in processes that Celery's time limits can stop: a push endpoint is a URL a browser chose.
supervise push .venv/bin/celery -A config.celery_app worker -Q push --hostname push@%h --loglevel INFO \
    --concurrency 2 &
# The backstops (timer sweep, relays, the timers' horizon job) on their own queue and process: a backlog of ordinary
# work never delays them (docs/architecture.md#durability).
supervise backstop .venv/bin/celery -A config.celery_app worker -Q backstop --hostname backstop@%h --loglevel INFO \
    --concurrency 1 &
supervise beat .venv/bin/celery -A config.celery_app beat --loglevel INFO --schedule "$RUN/celerybeat-schedule" &
supervise flower .venv/bin/celery -A config.celery_app flower --address="$BIND" --port="$FLOWER_PORT" \
    --basic-auth="$FLOWER_BASIC_AUTH" --read_only &
# The ADT feed's listener: HL7 v2 messages from the hospital's interface engine, acknowledged once stored.
supervise mllp $py manage.py mllp_listener --host "$BIND" --port "$MLLP_PORT" &
if [ -z "$VERBOSE" ]; then
    # Errors reach this terminal, one line each, named after their process (tail names the file it reads from).
    tail -n0 -F $(for name in $PROCESSES; do echo "$LOGS/$name.log"; done) 2>/dev/null |
        awk '/^==> .* <==$/ { name = $2; sub(/.*\//, "", name); sub(/\.log$/, "", name); next }
             /ERROR|CRITICAL|^\[E [0-9]/ { print name ": " $0; fflush() }' >&2 &
fi

$py scripts/services.py ready "$WEB" "$FLOWER" ||
    echo "warning: not everything answers yet; its log is in $LOGS/ (see docs/running.md)" >&2

echo
echo "Sequora is running (ready $((SECONDS - started_at)) s after the start). Ctrl-C stops everything."
echo
echo "  admin    $WEB/admin/   user admin, password $admin_password"
echo "           then the six-digit code of the authenticator app that scanned the admin's QR code"
if [ -n "$totp_after" ] && [ "$totp_after" != "$totp_before" ]; then
    echo "           Scan it now with an authenticator app (Google Authenticator, 1Password, FreeOTP...):"
    $py manage.py show_totp admin
fi
echo "           (the QR code again: .venv/bin/python manage.py show_totp admin)"
echo "  Flower   $FLOWER/   user ${FLOWER_BASIC_AUTH%%:*}, password $flower_password"
echo "  API      $WEB/api/docs/   the agent's key: .venv/bin/python manage.py create_agent_token interaction-agent"
echo "  ADT feed mllp://$HOST:$MLLP_PORT (HL7 v2)   FHIR R4 $WEB/fhir/metadata (docs/integration.md)"
echo "  health   $WEB/readyz (200 once Beat's first sweep ran)   metrics $WEB/metrics"
echo
if [ "${CHECKIN_DELAY:-86400}" -le 300 ]; then
    echo "  See it work, in another terminal here (no export needed):"
    echo "      .venv/bin/python manage.py demo --checkin-delay ${CHECKIN_DELAY}"
else
    echo "  See it work: restart with compressed time, then run the demo in another terminal here (no export needed):"
    echo "      CHECKIN_DELAY=30 CHECKIN_RESPONSE_WINDOW=600 QUIET_HOURS_START=0 QUIET_HOURS_END=0 bash scripts/run.sh"
    echo "      .venv/bin/python manage.py demo"
fi
if [ -z "$VERBOSE" ]; then
    echo "  Logs: $LOGS/{web,worker,delivery,push,backstop,beat,flower,mllp}.log; errors appear here too, one line each"
    echo "        (SEQUORA_VERBOSE=1 bash scripts/run.sh prints every line here instead)."
fi
wait
