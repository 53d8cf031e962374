"""Every connection binds values on the server and prepares the statements it runs often (config/settings/
environment.py): the assignment's statements, run at every escalation, are prepared after a few, and a migration
that adds a column while the workers run must not break them (a prepared `SELECT *` would fail on every connection
that prepared it: "cached plan must not change result type")."""

import psycopg
import pytest
from django.db import connection

from tasks_app.models import EscalationTask
from tests.helpers import drain
from tests.tasks_app.factories import EscalationTaskFactory, NurseShiftFactory

pytestmark = pytest.mark.django_db(transaction=True)

TABLES = ("tasks_app_escalationtask", "tasks_app_nurse")


def prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def migrate_elsewhere(sql: str) -> None:
    """As `manage.py migrate` does beside the running workers: from another connection."""
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], password=settings["PASSWORD"] or None,
        host=settings["HOST"], port=settings["PORT"] or None, autocommit=True,
    ) as other:  # fmt: skip
        for table in TABLES:
            other.execute(sql.format(table=table))


def test_the_assignments_prepared_statements_outlive_a_column_added_by_a_migration():
    nurse = NurseShiftFactory(nurse__max_open_tasks=100).nurse
    for _ in range(6):
        EscalationTaskFactory()
        drain()
    statements = prepared()
    assert any(s.endswith("WHERE t.id = $1 FOR UPDATE") for s in statements), statements  # the task's lock
    assert any("FOR NO KEY UPDATE OF n SKIP LOCKED" in s for s in statements), statements  # the next nurse's

    migrate_elsewhere("ALTER TABLE {table} ADD COLUMN added_later integer")
    try:
        task = EscalationTaskFactory()
        drain()
        task.refresh_from_db()
        assert (task.status, task.assigned_to_id) == (EscalationTask.Status.ASSIGNED, nurse.pk)
    finally:
        migrate_elsewhere("ALTER TABLE {table} DROP COLUMN IF EXISTS added_later")
