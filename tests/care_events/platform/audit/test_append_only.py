"""The audit trail cannot be changed through the application's database connection: not by the ORM, not by SQL."""

import uuid
from importlib import import_module

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from care_events.platform.audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry() -> AuditEntry:
    return AuditEntry.objects.create(action=AuditAction.LOGIN, username="someone")


def refused(statement) -> str:
    """Run `statement` in a savepoint and return the database's refusal."""
    with pytest.raises(DatabaseError) as refusal, transaction.atomic():
        statement()
    return str(refusal.value)


def sql(text: str, *params):
    def run():
        with connection.cursor() as cursor:
            cursor.execute(text, params)

    return run


def test_the_orm_cannot_update_or_delete_a_row(entry):
    entry.username = "someone else"

    assert "append-only: UPDATE refused" in refused(entry.save)
    assert "append-only: UPDATE refused" in refused(lambda: AuditEntry.objects.update(username="x"))
    assert "append-only: DELETE refused" in refused(entry.delete)
    assert "append-only: DELETE refused" in refused(AuditEntry.objects.all().delete)
    assert AuditEntry.objects.get(pk=entry.pk).username == "someone"


def test_sql_cannot_update_or_delete_a_row(entry):
    assert "UPDATE refused" in refused(sql("UPDATE care_events_auditentry SET username = 'x' WHERE id = %s", entry.pk))
    assert "DELETE refused" in refused(sql("DELETE FROM care_events_auditentry WHERE id = %s", entry.pk))
    assert AuditEntry.objects.filter(pk=entry.pk, username="someone").exists()


def test_truncate_is_refused_outside_the_test_databases():
    """Django's test runner empties every table with TRUNCATE, so the test databases (named test_*) are the one
    exception the trigger makes. Here the migration's SQL is installed in a database of another name, as
    production's: TRUNCATE is refused there."""
    migration = import_module("care_events.migrations.0010_audit_trail_and_event_actor")
    settings = connection.settings_dict
    server = {"host": settings["HOST"], "port": settings["PORT"], "user": settings["USER"]}
    server["password"] = settings["PASSWORD"]
    name = f"audit_probe_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**server, dbname=settings["NAME"], autocommit=True) as maintenance:
        maintenance.execute(f'CREATE DATABASE "{name}"')
        try:
            with psycopg.connect(**server, dbname=name, autocommit=True) as probe:
                probe.execute("CREATE TABLE care_events_auditentry (id bigint)")
                probe.execute(migration.APPEND_ONLY)
                probe.execute("INSERT INTO care_events_auditentry VALUES (1)")
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="TRUNCATE refused"):
                    probe.execute("TRUNCATE care_events_auditentry")
                assert probe.execute("SELECT count(*) FROM care_events_auditentry").fetchone() == (1,)
        finally:
            maintenance.execute(f'DROP DATABASE "{name}"')
