"""Workers keep their PostgreSQL connections from task to task (CONN_MAX_AGE: config/celery_app.py), and the task
after PostgreSQL closes them all (a restart, a failover) reconnects instead of failing.

The workers here reach PostgreSQL through a TCP proxy the test cuts (tests/tcp_proxy.py): closing every connection
through it is what a restart does to the workers, without restarting the machine's shared server."""

import datetime as dt
import time

import pytest
from django.db import connection
from django.utils import timezone

from care_events.platform.bus.health import SWEEP_HEARTBEAT_KEY
from care_events.platform.bus.models import HandlerRun, Timer
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask
from tests.tasks_app.factories import EscalationTaskFactory, NurseShiftFactory
from tests.tcp_proxy import TcpProxy
from tests.worker import CeleryStack, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

POOL_PROCESSES = 3  # the worker's two and the backstop worker's one
# A connection attempt that outlives connect_timeout on a loaded machine is made again, and the proxy counts both.
# Without reuse the count is tens: a connection per task (four per escalation) and per sweep (one a second here).
RETRIED_CONNECTS = 2


@pytest.fixture
def proxied(celery_stack):
    """The session's workers stopped (they reach PostgreSQL directly; its Beat keeps sending the sweeps), and a
    worker and a backstop worker of our own whose every connection goes through a proxy."""
    celery_stack.stop_workers()  # the `worker` fixture starts them again for the tests after
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"], int(db["PORT"])))
    # CONN_MAX_AGE well past the test's length: a connection closed for its age (60 s by default, which a slow start
    # on a loaded machine reaches) is reopened by design, and would be counted here as if reuse had failed.
    stack = CeleryStack(
        overrides={
            "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
            "DATABASE_CONN_MAX_AGE": "900",
        }
    )
    stack.start_workers(count=1)
    yield proxy
    stack.stop()
    proxy.close()


def escalate(**fields) -> EscalationTask:
    """One escalation, through to its nurse's message SENT: one task in a worker (assign-task, which writes and
    sends the message in its transaction; the SLA timers are written with the task)."""
    task = EscalationTaskFactory(**fields)
    wait_until(
        lambda: NotificationLog.objects.filter(task=task, type="TASK_ASSIGNED", status="SENT").exists(),
        timeout=60,
        what="the nurse's message sent",
    )
    return task


def sweep_finished_after(moment: float) -> bool:
    from django.core.cache import cache

    return (cache.get(SWEEP_HEARTBEAT_KEY) or 0) > moment


def test_workers_keep_their_connections_and_reconnect_after_postgresql_closes_them(proxied):
    NurseShiftFactory(nurse__max_open_tasks=100)
    for _ in range(3):
        escalate()
    now = time.time()
    wait_until(lambda: sweep_finished_after(now), timeout=30, what="a sweep in the backstop worker")
    assert HandlerRun.objects.filter(status="SUCCEEDED").count() >= 3
    # Without reuse every task opened its own connection (Celery's Django fixup closed it around each task).
    assert proxied.accepted <= POOL_PROCESSES + RETRIED_CONNECTS
    before_cut = proxied.accepted

    proxied.cut()
    cut_at, cut_time = timezone.now(), time.time()
    soon = timezone.now() + dt.timedelta(seconds=3)
    task = escalate(sla_warning_at=soon, sla_breach_at=soon + dt.timedelta(seconds=1))
    wait_until(
        lambda: Timer.objects.filter(subject_id=task.pk, fired_at__isnull=False).count() == 2,
        timeout=30,
        what="both SLA timers fired",
    )
    wait_until(lambda: sweep_finished_after(cut_time), timeout=30, what="a sweep after the cut")
    after = HandlerRun.objects.filter(created_at__gte=cut_at)
    wait_until(lambda: not after.filter(status="PENDING").exists(), timeout=30, what="the handler runs to finish")

    # The first task of each process after the cut found its connection dead before its first query (the health
    # check) and opened a new one: nothing failed, nothing was retried.
    assert after.count() >= 1 and set(after.values_list("status", "attempts")) == {("SUCCEEDED", 1)}
    assert set(Timer.objects.filter(subject_id=task.pk).values_list("attempts", "last_error")) == {(1, "")}
    assert 0 < proxied.accepted - before_cut <= POOL_PROCESSES + RETRIED_CONNECTS
