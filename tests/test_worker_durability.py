"""Nothing lost, nothing twice: redelivery, racing sweeps, Redis losing everything, workers killed, 200 tasks."""

import datetime as dt
import threading
import time
from collections import Counter

import pytest
from django.db import connection, transaction
from django.utils import timezone

from care_events.platform.bus.models import Event, HandlerRun, Timer
from care_events.platform.bus.tasks import handler_run_task, timers_sweep_task
from care_events.platform.bus.timers import timers_fire_due
from care_events.services.episodes import episode_discharge
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask, NurseShift
from tests.care_events.factories import EpisodeFactory
from tests.tasks_app.factories import EscalationTaskFactory, NurseShiftFactory
from tests.worker import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def all_runs_succeeded() -> bool:
    return not HandlerRun.objects.exclude(status="SUCCEEDED").exists()


def settle(what: str, *, timeout: float = 60) -> None:
    """Wait until no handler run, notification or due timer is left, and Twilio has heard of every send."""

    def quiet() -> bool:
        return (
            all_runs_succeeded()
            and not NotificationLog.objects.filter(status="PENDING").exists()
            and not Timer.objects.filter(fired_at=None, cancelled_at=None, due_at__lte=timezone.now()).exists()
        )

    wait_until(quiet, timeout=timeout, what=what)


def assert_each_message_sent_once(worker) -> None:
    sids = [r.sid for r in worker.twilio.requests]
    logs = list(NotificationLog.objects.exclude(provider_message_id="").values_list("provider_message_id", flat=True))
    assert sorted(sids) == sorted(logs), "a provider call without its log row, or a log row sent twice"
    deliveries = Counter((r.form["To"], r.form["Body"]) for r in worker.twilio.requests)
    assert all(count == 1 for count in deliveries.values()), deliveries.most_common(3)


def wait_for_sent(notification_type: str, count: int) -> None:
    wait_until(
        lambda: NotificationLog.objects.filter(type=notification_type, status="SENT").count() == count,
        timeout=60,
        what=f"{count} {notification_type} messages sent",
    )


def assert_each_warning_once(tasks: list[EscalationTask]) -> None:
    """One SLA warning row per task, sent once, or given up because its breach had come by the time a worker
    reached it (a loaded machine can be that late; the breach alert is then the one that counts)."""
    warnings = NotificationLog.objects.filter(type="SLA_WARNING")
    assert sorted(warnings.values_list("task_id", flat=True)) == sorted(task.pk for task in tasks)
    outcomes = set(warnings.values_list("status", "error_code"))
    assert outcomes <= {("SENT", ""), ("CANCELLED", "breach_due")}, outcomes


def assert_each_task_assigned_once() -> None:
    assigned = Counter(Event.objects.filter(name="task/assigned").values_list("data__task_id", flat=True))
    assert set(assigned.values()) == {1}
    assert set(assigned) == {str(pk) for pk in EscalationTask.objects.values_list("pk", flat=True)}


def test_dispatching_the_same_event_twice_changes_nothing(worker):
    NurseShiftFactory()
    task = EscalationTaskFactory()
    wait_until(lambda: EscalationTask.objects.filter(pk=task.pk, status="ASSIGNED").exists(), what="assignment")
    settle("the first dispatch")
    before = (Event.objects.count(), NotificationLog.objects.count(), Timer.objects.count())

    for run_id in HandlerRun.objects.values_list("pk", flat=True):
        handler_run_task.apply_async(args=[run_id])
        handler_run_task.apply_async(args=[run_id])
    time.sleep(3)
    settle("the redelivered runs")

    assert (Event.objects.count(), NotificationLog.objects.count(), Timer.objects.count()) == before
    assert HandlerRun.objects.filter(attempts=1).count() == HandlerRun.objects.count()
    assert len(worker.twilio.requests) == 1


def test_sweeps_racing_each_other_fire_each_timer_once(worker):
    NurseShiftFactory(nurse__max_open_tasks=100)
    tasks = [EscalationTaskFactory() for _ in range(30)]
    settle("assignment of 30 tasks")
    # Make every SLA timer due at once, with no fast-path message for it (as if Redis had lost them all).
    past = timezone.now() - dt.timedelta(seconds=1)
    Timer.objects.filter(kind__in=["SLA_WARNING", "SLA_BREACH"]).update(due_at=past)

    errors: list[BaseException] = []

    def sweep_here() -> None:
        try:
            timers_fire_due()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    for _ in range(4):
        timers_sweep_task.apply_async()  # two worker processes sweep too
    threads = [threading.Thread(target=sweep_here) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    settle("the racing sweeps")

    assert Timer.objects.filter(fired_at__isnull=False).count() == 60
    per_task = Counter(Event.objects.filter(name__startswith="task/sla_").values_list("name", "data__task_id"))
    assert len(per_task) == 60 and set(per_task.values()) == {1}
    assert NotificationLog.objects.filter(type__in=["SLA_WARNING", "SLA_BREACH"]).count() == 60
    assert {t.pk for t in tasks} == {t.pk for t in EscalationTask.objects.all()}
    assert_each_message_sent_once(worker)


def test_redis_losing_everything_loses_nothing(worker):
    """Workers die and Redis is wiped while events, timers and messages are pending: Beat's relay and sweep
    re-drive everything from PostgreSQL, and each effect happens exactly once."""
    NurseShiftFactory(nurse__max_open_tasks=100)
    worker.kill_workers()

    tasks = []
    with transaction.atomic():
        for _ in range(20):
            tasks.append(
                EscalationTaskFactory(
                    # Far enough out that the re-driven assignment comes first: a warning that finds no
                    # assignee goes to supervisors instead (there are none here), which is another test.
                    sla_warning_at=timezone.now() + dt.timedelta(seconds=10),
                    sla_breach_at=timezone.now() + dt.timedelta(seconds=12),
                )
            )
    episodes = [EpisodeFactory(discharged_at=None) for _ in range(5)]
    for episode in episodes:
        episode_discharge(episode=episode)
    assert worker.broker.dbsize() > 0  # the messages are waiting in Redis...
    worker.flush_redis()  # ...and now they are gone
    worker.start_workers()

    wait_until(lambda: EscalationTask.objects.filter(status="ASSIGNED").count() == 20, what="every task assigned")
    wait_for_sent("SLA_BREACH", 20)
    wait_for_sent("CHECKIN", 5)
    settle("the re-driven work")

    assert Counter(Event.objects.values_list("name", flat=True)) >= Counter(
        {
            "task/created": 20,
            "task/assigned": 20,
            "task/sla_warning": 20,
            "task/sla_breach": 20,
            "patient/discharged": 5,
            "checkin/scheduled": 5,
        }
    )
    assert Event.objects.filter(name__startswith="task/sla_").count() == 40
    assert Event.objects.filter(name="checkin/scheduled").count() == 5
    assert_each_task_assigned_once()
    # Each assignment, warning, breach and check-in sent exactly once. (The 6 s response window may also have
    # turned unanswered check-ins into call tasks by now: those are assignments too.)
    sent = Counter(
        NotificationLog.objects.filter(status="SENT").exclude(type="SLA_WARNING").values_list("type", flat=True)
    )
    assert sent == {"TASK_ASSIGNED": EscalationTask.objects.count(), "SLA_BREACH": 20, "CHECKIN": 5}
    assert_each_warning_once(tasks)
    assert_each_message_sent_once(worker)


def test_a_worker_killed_mid_flow_loses_nothing_and_sends_nothing_twice(worker):
    for _ in range(4):
        NurseShiftFactory(nurse__max_open_tasks=100)
    with transaction.atomic():
        tasks = [EscalationTaskFactory() for _ in range(60)]
    time.sleep(0.3)  # let the workers get into the middle of it
    worker.kill_workers()
    worker.start_workers()

    wait_until(
        lambda: EscalationTask.objects.filter(status="ASSIGNED").count() == len(tasks),
        timeout=60,
        what="every task assigned",
    )
    settle("the work after the crash")
    assert Event.objects.filter(name="task/assigned").count() == 60
    assert NotificationLog.objects.filter(type="TASK_ASSIGNED", status="SENT").count() == 60
    assert_each_message_sent_once(worker)


def test_a_worker_killed_while_twilio_holds_its_message_does_not_send_it_again(worker):
    """The in-doubt window made certain: Twilio has created the message but the worker dies before it hears so.
    After the lease the next attempt asks Twilio, finds the message and records it instead of sending again."""
    worker.twilio.response_delay_seconds = 60  # accepted at once, answered never (the worker dies first)
    NurseShiftFactory()
    task = EscalationTaskFactory()
    [accepted] = worker.twilio.wait_for_requests(1, timeout=30)
    worker.kill_workers()
    worker.twilio.response_delay_seconds = 0
    worker.start_workers()

    wait_for_sent("TASK_ASSIGNED", 1)
    log = NotificationLog.objects.get(task=task, type="TASK_ASSIGNED")
    assert (log.provider_message_id, log.attempts, log.in_doubt_since) == (accepted.sid, 2, None)
    assert worker.twilio.lookups == 1
    assert_each_message_sent_once(worker)


def test_200_tasks_at_once_on_two_workers_round_robin_to_10_nurses(worker):
    nurses = [NurseShiftFactory(nurse__max_open_tasks=50).nurse for _ in range(10)]
    with transaction.atomic():
        tasks = [EscalationTaskFactory() for _ in range(200)]

    wait_until(
        lambda: EscalationTask.objects.filter(status="ASSIGNED").count() == 200, timeout=120, what="200 assignments"
    )
    settle("200 assignments and their messages", timeout=120)

    assert Event.objects.filter(name="task/assigned").count() == 200
    assert len(set(Event.objects.filter(name="task/assigned").values_list("data__task_id", flat=True))) == 200
    per_nurse = Counter(EscalationTask.objects.values_list("assigned_to_id", flat=True))
    assert set(per_nurse) == {n.pk for n in nurses}
    assert max(per_nurse.values()) - min(per_nurse.values()) <= 1, per_nurse
    shifts = dict(NurseShift.objects.values_list("nurse_id", "tasks_assigned"))
    assert shifts == dict(per_nurse)
    assert NotificationLog.objects.filter(type="TASK_ASSIGNED", status="SENT").count() == 200
    assert {t.pk for t in tasks} == set(EscalationTask.objects.values_list("pk", flat=True))
    assert_each_message_sent_once(worker)


def test_redis_wiped_under_running_workers_loses_nothing(worker):
    """FLUSHDB while workers hold ETA messages and queued runs: what they hold still runs, what Redis held is
    re-driven by Beat, and the claims keep every effect to one."""
    NurseShiftFactory(nurse__max_open_tasks=100)
    tasks = []
    with transaction.atomic():
        for _ in range(10):
            tasks.append(
                EscalationTaskFactory(
                    # After the relay has re-driven the wiped assignments (RELAY_GRACE_SECONDS 2 + a 1 s sweep).
                    sla_warning_at=timezone.now() + dt.timedelta(seconds=10),
                    sla_breach_at=timezone.now() + dt.timedelta(seconds=12),
                )
            )
    for _ in range(3):
        episode_discharge(episode=EpisodeFactory(discharged_at=None))
    worker.flush_redis()

    wait_for_sent("SLA_BREACH", 10)
    wait_for_sent("CHECKIN", 3)
    settle("the work after the wipe")
    assert Event.objects.filter(name__startswith="task/sla_").count() == 20
    assert_each_task_assigned_once()
    sent = Counter(
        NotificationLog.objects.filter(status="SENT").exclude(type="SLA_WARNING").values_list("type", flat=True)
    )
    assert sent == {"TASK_ASSIGNED": EscalationTask.objects.count(), "SLA_BREACH": 10, "CHECKIN": 3}
    assert_each_warning_once(tasks)
    assert_each_message_sent_once(worker)
