"""Where every settings part reads its values: the environment (and a .env file beside manage.py), then, for the
servers' URLs, the product scripts/run.sh runs from this checkout (its record, config/settings_module.py), then the
embedded servers scripts/services.py starts. Every value read from the environment is listed in README.md."""

from pathlib import Path

import environ

from config.settings_module import RUN_DIR as RUN_DIR
from config.settings_module import running_product

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A .env file beside manage.py is read if present; real environment variables win over it.
env.read_env(BASE_DIR / ".env")

RUNNING = running_product()

# The embedded servers (scripts/services.py), on the ports it starts them on.
EMBEDDED_DATABASE_URL = f"postgres://postgres@127.0.0.1:{env.int('SEQUORA_PG_PORT', default=64329)}/sequora"
EMBEDDED_REDIS_URL = f"redis://127.0.0.1:{env.int('SEQUORA_REDIS_PORT', default=63799)}/0"


def served(name: str, default: str) -> str:
    """The value of `name` (a server's URL): the environment's; else that of the product run.sh runs from this
    checkout, so that every shell here reaches the servers it runs on; else `default`."""
    return str(env(name, default=RUNNING.get(name, default)))


def database(url: str) -> dict:
    """The `default` database of DATABASES for `url`, with the limits every connection (web, workers, Beat) has, so
    that PostgreSQL out of reach is an error within seconds rather than a hang (docs/operations.md):

    - `connect_timeout`: a connection attempt (per address) that has not completed gives up;
    - `tcp_user_timeout`: data sent and not acknowledged for that long closes the connection (a server dropped
      silently by the network: no refusal ever comes, and without this a query waits for TCP's own 15 minutes);
    - TCP keepalives: an idle pooled connection, or one waiting for a reply, is probed, so a dead peer is noticed;
    - `statement_timeout`: PostgreSQL cancels a statement that runs longer (0: no limit, for a migration);
    - `prepare_threshold` 0: the few statements run through care_events.platform.sql.prepared_cursor (those every
      escalation runs) are prepared at their first run on a connection; Django's own statements bind their values
      on the client and are never prepared. `DATABASE_PREPARED_STATEMENTS=false` (a pooler that cannot carry
      prepared statements): none is.
    """
    config = env.db_url_config(url)
    config["ATOMIC_REQUESTS"] = False
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    options = config.setdefault("OPTIONS", {})
    statement_timeout = f"-c statement_timeout={env.int('DATABASE_STATEMENT_TIMEOUT_MS', default=20_000)}"
    options["options"] = f"{options['options']} {statement_timeout}" if options.get("options") else statement_timeout
    options.update(
        connect_timeout=env.int("DATABASE_CONNECT_TIMEOUT_SECONDS", default=2),
        tcp_user_timeout=env.int("DATABASE_TCP_USER_TIMEOUT_MS", default=2_000),
        keepalives=1,
        keepalives_idle=env.int("DATABASE_KEEPALIVES_IDLE_SECONDS", default=2),
        keepalives_interval=env.int("DATABASE_KEEPALIVES_INTERVAL_SECONDS", default=1),
        keepalives_count=env.int("DATABASE_KEEPALIVES_COUNT", default=2),
        prepare_threshold=0 if env.bool("DATABASE_PREPARED_STATEMENTS", default=True) else None,
    )
    return config
