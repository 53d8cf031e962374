"""The private laboratory that bench/ and chaos/ run in, and stop when they end.

Its own PostgreSQL and Redis (scripts/services.py with SEQUORA_RUN_DIR=.run/lab, on 127.0.0.1:64400 and :63900 by
default, or $SEQUORA_LAB_PG_PORT / $SEQUORA_LAB_REDIS_PORT): a suite kills, wipes and restarts them, so they are
never a server anything else uses. The database `sequora_lab` is recreated and migrated on every run; this process
then runs Django (config.settings.test) against it, and tests/worker.py's CeleryStack starts the workers and Beat.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "sequora_lab"
SERVICES = ROOT / "scripts" / "services.py"


def say(message: str) -> None:
    print(message, flush=True)


class Servers:
    """The lab's PostgreSQL and Redis, started, stopped and wiped through scripts/services.py."""

    def __init__(self, *, pg_port: int | None = None, redis_port: int | None = None, run_dir: Path | None = None):
        self.pg_port = pg_port or int(os.environ.get("SEQUORA_LAB_PG_PORT", "64400"))
        self.redis_port = redis_port or int(os.environ.get("SEQUORA_LAB_REDIS_PORT", "63900"))
        self.run_dir = run_dir or Path(os.environ.get("SEQUORA_LAB_RUN_DIR") or ROOT / ".run" / "lab")

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/{DB_NAME}"

    @property
    def admin_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/postgres"

    def redis_url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/{db}"

    def _services(self, command: str, started: str = "") -> None:
        env = {
            **os.environ,
            "SEQUORA_RUN_DIR": str(self.run_dir),
            "SEQUORA_PG_PORT": str(self.pg_port),
            "SEQUORA_REDIS_PORT": str(self.redis_port),
            "SEQUORA_STARTED_SERVICES": started,
        }
        for name in ("DATABASE_URL", "REDIS_URL"):
            env.pop(name, None)
        subprocess.run(  # noqa: S603 - our own script
            [sys.executable, str(SERVICES), command], env=env, check=True, stdout=subprocess.DEVNULL
        )

    def up(self) -> None:
        self._services("up")

    def down(self) -> None:
        self._services("down", "postgres redis")

    def postgres_stop(self) -> None:
        self._services("down", "postgres")

    def redis_stop(self, *, keep: bool = True) -> None:
        """Shut Redis down; with keep=False its AOF and RDB files go too, so it comes back empty."""
        self._services("down", "redis")
        if not keep:
            shutil.rmtree(self.run_dir / "redis", ignore_errors=True)

    def redis_flushall(self) -> None:
        import redis

        redis.Redis.from_url(self.redis_url()).flushall()

    def recreate_database(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def truncate_product_tables() -> None:
    """Empty the product's tables between figures (bench/) and runs (chaos/)."""
    from django.apps import apps
    from django.db import connection

    # The audit trail is append-only (its trigger refuses TRUNCATE): it keeps the earlier runs' rows, harmlessly.
    audit_table = apps.get_model("care_events", "AuditEntry")._meta.db_table
    tables = [
        model._meta.db_table
        for label in ("care_events", "tasks_app", "notifications", "intake")
        for model in apps.get_app_config(label).get_models()
        if model._meta.db_table != audit_table
    ]
    with connection.cursor() as cursor:
        quoted = ", ".join(connection.ops.quote_name(t) for t in tables)
        cursor.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")


def lab_environment(servers: Servers) -> dict[str, str]:
    """What every process of the lab runs with: Django's test settings on the lab's servers."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": servers.database_url,
        "REDIS_URL": servers.redis_url(0),
        "CELERY_BROKER_URL": servers.redis_url(0),
        "TEST_CELERY_BROKER_URL": servers.redis_url(0),
        "CACHE_URL": servers.redis_url(1),
        "TEST_CACHE_URL": servers.redis_url(1),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }


def lab_start(servers: Servers) -> None:
    """Servers up, a fresh migrated database, Django set up in this process on it."""
    servers.up()
    servers.recreate_database()
    os.environ.update(lab_environment(servers))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=os.environ)
    import django

    django.setup()


def process_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its children (a worker's main process and its pool), in MB."""
    import psutil

    try:
        main = psutil.Process(pid)
        processes = [main, *main.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total / 1e6


def stop_process_group(process: subprocess.Popen, *, sig: int = signal.SIGTERM, timeout: float = 120) -> float:
    """Send `sig` to the process group and wait for it to exit; returns the seconds it took (SIGKILL after
    `timeout`)."""
    started = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    return time.monotonic() - started


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * pct / 100))]
