"""The statements every escalation runs are prepared on each connection (care_events.platform.sql), and nothing
else is: a migration that adds a column while the workers run must not break them (a prepared `SELECT *` would fail
on every connection that prepared it: "cached plan must not change result type"), and Django's own statements keep
client-side binding (a bulk_create over 65,535 values must still work)."""

import uuid

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from care_events.platform.bus.models import Timer, TimerKind
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


def test_djangos_own_statements_are_not_prepared_nor_capped_at_65535_values():
    EscalationTaskFactory()
    drain()
    before = prepared()
    # 14,000 rows of 5 values: one INSERT of 70,000 values, over server-side binding's cap.
    Timer.objects.bulk_create(
        Timer(kind=TimerKind.SLA_WARNING, subject_id=uuid.uuid4(), due_at=timezone.now()) for _ in range(14_000)
    )
    assert Timer.objects.count() >= 14_000
    assert prepared() == before
