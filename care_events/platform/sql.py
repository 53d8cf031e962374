"""The statements every escalation runs, written once as SQL and prepared on each connection.

About a dozen statements run at every escalation (the handler run's claim, the task's and the nurse's locks, the
assignment's writes, the event and message rows). They are written as SQL once (the ORM's compile of each cost more
than its round trip) and run through `prepared_cursor()`: their values are bound on the server, and psycopg
prepares each at its first run on a connection, so PostgreSQL parses and plans it once per connection rather than
at every escalation (docs/PERFORMANCE.md). `DATABASE_PREPARED_STATEMENTS=false` turns the preparing off, for a
pooler that cannot carry prepared statements.

Every other statement keeps Django's client-side binding: with server-side binding a statement is capped at 65,535
values, which Django does not batch for (a bulk_create of thousands of rows), while each statement here has a few.

A statement written as SQL names its columns (`columns`), never `*`: a prepared `SELECT *` fails ("cached plan must
not change result type") on every connection that prepared it, once a migration adds a column to the table.
"""

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorWrapper
from psycopg.pq import Format

M = TypeVar("M", bound=models.Model)


def prepared_cursor() -> CursorWrapper:
    """A cursor for the hot path's statements: values bound on the server, each statement prepared on the
    connection at its first run (the connection's `prepare_threshold`, config/settings/environment.py). Wrapped as
    Django wraps its own: its errors are Django's, and query logging and execute wrappers see its statements."""
    db = connections[DEFAULT_DB_ALIAS]  # looked up once: each attribute read through `connection` looks it up again
    db.ensure_connection()
    db.validate_thread_sharing()
    # psycopg's Cursor under Django's name (django-stubs types the class without psycopg's constructor).
    cursor: Any = cast(Any, ServerBindingCursor)(db.connection)
    # As Django's own cursor does (DatabaseWrapper.create_cursor): its time zone where the connection's differs.
    if db.timezone != db.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT).timezone:
        register_tzloader(db.timezone, cursor)
    return db.make_debug_cursor(cursor) if db.queries_logged else db.make_cursor(cursor)


def columns(model: type[models.Model], alias: str) -> str:
    """The model's columns by name, in the order `fetch_instance` reads them."""
    return ", ".join(f"{alias}.{connection.ops.quote_name(str(f.column))}" for f in model._meta.concrete_fields)


@functools.cache
def _loader(model: type[models.Model]) -> tuple[list[str], list[tuple[int, list[Callable[..., Any]], Any]]]:
    """The model's attribute names, and each column's converters from the database's value (as the ORM applies
    them: the backend's, then the field's)."""
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        expression = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        if found:
            converters.append((index, found, expression))
    return [f.attname for f in fields], converters


def fetch_instance(model: type[M], sql: str, params: Sequence[Any] | Mapping[str, Any]) -> M | None:
    """The first row of `sql`, which selects `columns(model, ...)`, as an instance of `model` (None: no row), run
    through `prepared_cursor()`. Replaces `Model.objects.raw(...)` on the hot path: the raw query set works out the
    columns' order and converters at every call."""
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    names, converters = _loader(model)
    values = list(row)
    db = connections[DEFAULT_DB_ALIAS]
    for index, functions, expression in converters:
        for function in functions:
            values[index] = function(values[index], expression, db)
    return model.from_db(DEFAULT_DB_ALIAS, names, values)
