"""Two database roles, so that the application cannot rewrite the audit trail (docs/operations.md, "Database roles").

The migrations' role (DATABASE_MIGRATE_URL) owns every table; `manage.py migrate` connects as it and, after the
migrations, grants the runtime role (DATABASE_URL's user: web, workers, Beat) what the product's work needs and
nothing more: SELECT, INSERT, UPDATE and DELETE on its tables, but only SELECT and INSERT on the audit trail, only
SELECT on the migrations' record, no TRUNCATE, no TRIGGER, no REFERENCES and no DDL (it owns nothing, so it can
neither drop nor disable the trail's append-only triggers, nor alter a table; it may create no schema, table or
temporary table). Default privileges make a table a later migration creates follow the same rule.

Without DATABASE_MIGRATE_URL (a developer's machine, the tests) both are one role and nothing is granted.
"""

import contextlib
from collections.abc import Iterator
from typing import Any

import environ
from django.conf import settings
from django.db import connections
from psycopg import sql

AUDIT_TABLE = "care_events_auditentry"
MIGRATIONS_TABLE = "django_migrations"
TABLE_WORK = sql.SQL("SELECT, INSERT, UPDATE, DELETE")  # never TRUNCATE, REFERENCES or TRIGGER


def migrate_credentials(alias: str = "default") -> dict[str, Any] | None:
    """The owner's user and password from DATABASE_MIGRATE_URL, or None when migrations run as the runtime role.
    Only the credentials are taken: the server and database are DATABASE_URL's (the test runner renames it)."""
    url = settings.DATABASE_MIGRATE_URL
    if not url:
        return None
    parsed = environ.Env.db_url_config(url)
    if parsed["USER"] == connections[alias].settings_dict["USER"]:
        return None
    return {"USER": parsed["USER"], "PASSWORD": parsed.get("PASSWORD", "")}


@contextlib.contextmanager
def as_table_owner(alias: str = "default") -> Iterator[str | None]:
    """Within: the connection `alias` is the owner's (DATABASE_MIGRATE_URL); yields the runtime role's name, or None
    when there is no second role. The runtime credentials are back afterwards (on a new connection)."""
    owner = migrate_credentials(alias)
    connection = connections[alias]
    if owner is None:
        yield None
        return
    runtime = {key: connection.settings_dict[key] for key in owner}
    connection.close()
    connection.settings_dict.update(owner)
    try:
        yield str(runtime["USER"])
    finally:
        connection.close()
        connection.settings_dict.update(runtime)


def runtime_role_grant(runtime_role: str, alias: str = "default") -> None:
    """Grant `runtime_role` the product's work and nothing more (the module's docstring), idempotently: run as the
    tables' owner, after every migration."""
    role = sql.Identifier(runtime_role)
    connection = connections[alias]
    statements = [
        sql.SQL("REVOKE CREATE, TEMPORARY ON DATABASE {} FROM PUBLIC, {}").format(
            sql.Identifier(connection.settings_dict["NAME"]), role
        ),
        sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC, {}").format(role),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(role),
        sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA public TO {}").format(TABLE_WORK, role),
        sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(AUDIT_TABLE), role),
        sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(MIGRATIONS_TABLE), role),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(role),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}").format(role),
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
