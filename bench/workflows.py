"""Benchmark of the event flow on real parts: PostgreSQL, Redis, two Celery worker processes, Beat, and the
local fake of Twilio's HTTP API. Prints its figures; asserts nothing.

    .venv/bin/python bench/workflows.py [--tasks 500] [--timers 2000] [--emits 2000]

It uses its own database (sequora_bench, recreated each run) and Redis database 13.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/sequora_bench"
os.environ["TEST_CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/13"
os.environ.setdefault("LOG_LEVEL", "WARNING")


def recreate_database() -> None:
    for sql in ("DROP DATABASE IF EXISTS sequora_bench WITH (FORCE)", "CREATE DATABASE sequora_bench"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)  # noqa: S603,S607
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=os.environ)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--timers", type=int, default=2000)
    parser.add_argument("--emits", type=int, default=2000)
    args = parser.parse_args()

    recreate_database()
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from care_events.bus.dispatch import emit
    from care_events.bus.models import Timer
    from care_events.bus.timers import timers_fire_due
    from notifications.models import NotificationLog
    from tasks_app.models import EscalationTask
    from tests.care_events.factories import EpisodeFactory
    from tests.tasks_app.factories import EscalationTaskFactory, NurseShiftFactory
    from tests.worker import CeleryStack, wait_until

    # 1. emit(): validation + event row + run rows, in-process (no handler runs for task/acknowledged).
    started = time.perf_counter()
    with transaction.atomic():
        for _ in range(args.emits):
            emit("task/acknowledged", {"task_id": "7b0c5a44-7d1b-4c0e-9b1e-2f7a3d1b9c11", "nurse_id": 1})
    elapsed = time.perf_counter() - started
    print(f"emit: {args.emits} events in {elapsed:.2f} s = {args.emits / elapsed:.0f} events/s (one transaction)")

    # 2. The flow on real workers: create N tasks at once, wait for every assignment and nurse SMS.
    stack = CeleryStack()
    stack.flush_redis()
    stack.start_workers(count=2, concurrency=2)
    stack.start_beat()
    try:
        for _ in range(10):
            NurseShiftFactory(nurse__max_open_tasks=args.tasks)
        episode = EpisodeFactory()
        started = time.perf_counter()
        with transaction.atomic():
            for _ in range(args.tasks):
                EscalationTaskFactory(episode=episode, patient=episode.patient)
        created = time.perf_counter()
        wait_until(
            lambda: EscalationTask.objects.filter(status="ASSIGNED").count() == args.tasks,
            timeout=600,
            what="assignments",
        )
        assigned = time.perf_counter()
        wait_until(
            lambda: NotificationLog.objects.filter(type="TASK_ASSIGNED", status="SENT").count() == args.tasks,
            timeout=600,
            what="nurse SMS",
        )
        sent = time.perf_counter()
        latencies = [
            (task.assigned_at - task.created_at).total_seconds()
            for task in EscalationTask.objects.only("assigned_at", "created_at")
        ]
        sms_latencies = [
            (log.sent_at - log.task.created_at).total_seconds()
            for log in NotificationLog.objects.filter(type="TASK_ASSIGNED").select_related("task")
        ]
        print(f"flow: {args.tasks} tasks created in one transaction in {created - started:.2f} s")
        print(
            f"flow: all assigned after {assigned - created:.2f} s = {args.tasks / (assigned - created):.0f} "
            f"assignments/s on 2 workers x 2 processes"
        )
        print(f"flow: all nurse SMS sent (through the Twilio SDK to the local fake) after {sent - created:.2f} s")
        print(
            f"flow: creation -> assignment latency p50 {statistics.median(latencies):.3f} s, "
            f"p95 {percentile(latencies, 95):.3f} s, max {max(latencies):.3f} s"
        )
        print(
            f"flow: creation -> nurse SMS sent latency p50 {statistics.median(sms_latencies):.3f} s, "
            f"p95 {percentile(sms_latencies, 95):.3f} s, max {max(sms_latencies):.3f} s"
        )
    finally:
        stack.stop()

    # 3. The sweep alone: N due timers with no fast-path message (as after Redis lost them), fired in-process.
    tasks = list(EscalationTask.objects.values_list("pk", flat=True))
    Timer.objects.all().delete()
    due = timezone.now()
    timers = [Timer(kind=kind, subject_id=pk, due_at=due) for pk in tasks for kind in ("SLA_WARNING", "SLA_BREACH")]
    Timer.objects.bulk_create(timers[: args.timers])
    started = time.perf_counter()
    fired = timers_fire_due(limit=args.timers)
    elapsed = time.perf_counter() - started
    print(
        f"sweep: fired {fired} due timers in {elapsed:.2f} s = {fired / elapsed:.0f} timers/s "
        "(one process; each fire emits its SLA event)"
    )


if __name__ == "__main__":
    main()
