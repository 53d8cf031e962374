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
EMBEDDED_DATABASE_URL = f"postgres://postgres@127.0.0.1:{env.int('SEQUORA_PG_PORT', default=54329)}/sequora"
EMBEDDED_REDIS_URL = f"redis://127.0.0.1:{env.int('SEQUORA_REDIS_PORT', default=63799)}/0"


def served(name: str, default: str) -> str:
    """The value of `name` (a server's URL): the environment's; else that of the product run.sh runs from this
    checkout, so that every shell here reaches the servers it runs on; else `default`."""
    return str(env(name, default=RUNNING.get(name, default)))
