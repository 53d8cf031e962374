"""`insert_once`: one `INSERT … ON CONFLICT (key) DO NOTHING RETURNING id` for a row that a unique key makes at most
one of (an event's idempotency key, a message's dedupe key).

It replaces "SELECT it; if absent, INSERT it inside a savepoint; on IntegrityError SELECT again": one statement
instead of four, no savepoint, and two concurrent callers still meet at the unique index (the loser inserts nothing
and reads the winner's row). The statement's text is built once per model and key, so Django's SQL compiler is not
run for it on the hot path; it is prepared on each connection (care_events.platform.sql).
"""

import functools
from typing import TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models.fields import AutoFieldMixin

from care_events.platform.sql import prepared_cursor

M = TypeVar("M", bound=models.Model)


@functools.cache
def _statement(model: type[models.Model], key: tuple[str, ...]) -> tuple[str, tuple[models.Field, ...]]:
    meta = model._meta
    # An auto id is the database's; any other primary key (a UUID) is written from Python.
    fields = tuple(f for f in meta.concrete_fields if not isinstance(f, AutoFieldMixin))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    conflict = ", ".join(quote(str(meta.get_field(name).column)) for name in key)  # type: ignore[union-attr]
    table, pk, values = quote(meta.db_table), quote(str(meta.pk.column)), ", ".join(["%s"] * len(fields))  # type: ignore[union-attr]
    # Quoted names of the model's own table and columns: no value of anyone's is in the text.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT ({conflict}) DO NOTHING RETURNING {pk}"  # noqa: S608
    return sql, fields


def insert_once(row: M, *, key: tuple[str, ...]) -> bool:
    """Insert `row` unless a row with its `key` (the fields of a unique constraint) exists. True: inserted (`row` is
    now saved, its id set); False: the existing row wins and `row` stays unsaved (read the existing one by its key).
    No model signals are sent: use it only for models that have none (the bus's events and timers, message logs)."""
    sql, fields = _statement(type(row), key)
    db = connections[DEFAULT_DB_ALIAS]  # once: every field's preparation reads it (through `connection`, a lookup each)
    values = [f.get_db_prep_save(f.pre_save(row, add=True), db) for f in fields]
    with prepared_cursor() as cursor:
        cursor.execute(sql, values)
        inserted = cursor.fetchone()
    if inserted is None:
        return False
    setattr(row, row._meta.pk.attname, inserted[0])
    row._state.adding, row._state.db = False, connection.alias
    return True
