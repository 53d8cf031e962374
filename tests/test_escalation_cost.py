"""What one escalation costs the broker and PostgreSQL: from the agent's response to the nurse's notification SENT
(local backend), SLA timers included. The work runs in this process through the functions the Celery tasks call
(tests/helpers.py: drain); every message is really published (to the test broker, taken off it afterwards) and
counted, and so is every transaction that wrote (each has a transaction id in PostgreSQL). The figures are in
docs/events.md (The cost of one escalation)."""

import pytest
from django.db import connection

from care_events.platform.bus.dispatch import handler_run_execute
from care_events.platform.bus.models import HandlerRun
from care_events.services.interactions import interaction_response_record, interaction_start
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask
from tests.care_events.factories import EpisodeFactory
from tests.care_events.platform.bus.conftest import published  # noqa: F401 - the `published` fixture
from tests.helpers import drain
from tests.tasks_app.factories import NurseShiftFactory

pytestmark = pytest.mark.django_db(transaction=True)

WRITES = ("INSERT", "UPDATE", "DELETE")


class WriteTransactions:
    """Counts the transactions that wrote: a write in autocommit is one; inside an atomic block, every distinct
    transaction id PostgreSQL assigned (it assigns one only to a transaction that writes)."""

    def __init__(self) -> None:
        self.autocommit_writes = 0
        self.transaction_ids: set[int] = set()
        self._asking = False

    def __call__(self, execute, sql, params, many, context):  # Django's execute_wrapper signature
        result = execute(sql, params, many, context)
        if self._asking:
            return result
        if not context["connection"].in_atomic_block:
            self.autocommit_writes += sql.lstrip().upper().startswith(WRITES)
            return result
        self._asking = True
        try:
            with context["connection"].cursor() as cursor:
                cursor.execute("SELECT pg_current_xact_id_if_assigned()::text")
                xid = cursor.fetchone()[0]
        finally:
            self._asking = False
        if xid is not None:
            self.transaction_ids.add(int(xid))
        return result

    @property
    def count(self) -> int:
        return self.autocommit_writes + len(self.transaction_ids)


class Statements:
    """Counts the SQL statements run, by the first word."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.sql.append(sql)
        return execute(sql, params, many, context)


def test_one_escalation_costs_2_messages_and_3_commits_and_its_assignment_15_statements(published):  # noqa: F811
    nurse = NurseShiftFactory().nurse
    episode = EpisodeFactory()
    interaction = interaction_start(episode=episode)
    drain()
    published.clear()

    commits = WriteTransactions()
    with connection.execute_wrapper(commits):
        interaction_response_record(
            interaction=interaction, text="I gained 4 pounds", severity="CRITICAL", reason_codes=["HF_WEIGHT_GAIN"]
        )
        handler_run_execute(run_id=HandlerRun.objects.get(handler="handle-checkin-response").pk)
        assign = HandlerRun.objects.get(handler="assign-task")
        statements = Statements()
        with connection.execute_wrapper(statements):
            # assign-task: the nurse, her message's row, SENT (the local backend), in one transaction
            handler_run_execute(run_id=assign.pk)
        drain()  # nothing is left: asserted below by the messages
    task = EscalationTask.objects.get(episode=episode)
    assert task.assigned_to_id == nurse.pk
    assert NotificationLog.objects.get(task=task, type="TASK_ASSIGNED").status in {"SENT", "DELIVERED"}

    messages = sorted(message.headers["shadow"] or message.task for message in published)
    print(f"escalation cost: {len(messages)} messages {messages}, {commits.count} write transactions")
    print("\n".join(statements.sql))
    # One message from the task's creation to SENT (assign-task); monitor-sla and send-notification are inline. The
    # two SLA stages of a CRITICAL task are 22.5 and 30 min away, beyond the 10 min horizon: rows only, their
    # messages come from the horizon job later (2 more, for a task still open then).
    # Its two acknowledgement timers (docs/handover.md: 5 and 10 min for a CRITICAL task) are within the horizon:
    # their ETA messages are published with the assignment, as an SLA stage's would be; nothing is sent until they
    # come due.
    assert messages == ["assign-task", "handle-checkin-response", "timer:ACK_ESCALATION", "timer:ACK_REMINDER"]
    # The response, the escalation (task, SLA timer rows, events, the run), the assignment (with the message).
    assert commits.count <= 3, commits.count
    # The assignment's statements, BEGIN and COMMIT (which Django does not run through the wrapper) included.
    statements.sql = [q for q in statements.sql if "pg_current_xact_id_if_assigned" not in q]
    assert len(statements.sql) + 2 <= 15, len(statements.sql)
