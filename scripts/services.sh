#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on loopback, starting Debian's services if they do not,
# and that the application database exists. Used by scripts/run.sh and .ci/run.
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}

wait_for() {  # wait_for NAME COMMAND...: up to 30 s
    local name=$1; shift
    for _ in $(seq 1 60); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    echo "error: $name does not answer" >&2
    return 1
}

if ! pg_isready -q -h "$PGHOST" -p "$PGPORT"; then
    echo "PostgreSQL is not answering on $PGHOST:$PGPORT; starting it" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
fi
wait_for PostgreSQL pg_isready -q -h "$PGHOST" -p "$PGPORT"

if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
    echo "Redis is not answering on 127.0.0.1:6379; starting it" >&2
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for Redis sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG'

db=${SEQUORA_DB_NAME:-sequora}
if ! psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -tAc "select 1 from pg_database where datname = '$db'" | grep -q 1; then
    psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -qc "create database \"$db\""
fi
echo "PostgreSQL ($PGHOST:$PGPORT) and Redis (127.0.0.1:6379) are up; database $db exists."
