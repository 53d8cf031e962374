"""The chaos suite's count: what an accepted request or a due timer should have caused and has not (lost), what the
provider heard twice, timers unfired or fired twice, work left undispatched, and the worst delays; from PostgreSQL
and the fake Twilio's request log."""

import datetime as dt
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import F, Q

from chaos.lab import CHECKIN_DELAY, RESPONSE_WINDOW, Lab
from chaos.stream import Stream


@dataclass
class Result:
    scenario: str
    accepted: dict[str, int] = field(default_factory=dict)
    api_errors: dict[str, int] = field(default_factory=dict)
    never_accepted: int = 0
    lost: int = 0
    lost_detail: list[str] = field(default_factory=list)
    sent_twice: int = 0
    timers_unfired: int = 0
    timers_fired_twice: int = 0
    undispatched: int = 0
    pending_notifications: int = 0
    worst_delay_s: float = 0.0
    worst_timer_lateness_s: float = 0.0
    twilio_requests: int = 0
    checkins_given_up: int = 0  # check-in SMS past its response window, the nurse asked to call instead
    settled_after_s: float | None = None  # seconds after the stream's end until nothing was left to do
    late_at_deadline: int = 0  # effects still missing at the end of the recovery window (then waited for longer)
    queued_at_deadline: int = 0  # messages in the queues at that moment
    slowest_answer_s: float = 0.0  # the longest the API took to answer a request (or to fail it)
    retries_too_close: int = 0  # gaps between a handler run's attempts shorter than HANDLER_RUNS allows (poison)
    # Messages no longer worth sending when they went (every attempt asks first: notifications.services.delivery).
    alerts_after_resolution: int = 0  # a nurse's alert about a task sent after the task was resolved or cancelled
    warnings_after_breach: int = 0  # an SLA warning sent after its task's breach time
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.lost
            or self.sent_twice
            or self.timers_unfired
            or self.timers_fired_twice
            or self.undispatched
            or self.pending_notifications
            or self.never_accepted
            or self.retries_too_close
            or self.alerts_after_resolution
            or self.warnings_after_breach
        )


def settled(stream: Stream, poison_run_ids: set[int]) -> bool:
    from django.utils import timezone

    from care_events.platform.bus.models import HandlerRun, Timer
    from notifications.models import NotificationLog

    # No timer due soon either: a check-in's no-answer timer firing between this check and the count would make
    # a call task that looks unnotified.
    soon = timezone.now() + dt.timedelta(seconds=CHECKIN_DELAY + RESPONSE_WINDOW + 5)
    return (
        not HandlerRun.objects.exclude(status="SUCCEEDED").exclude(pk__in=poison_run_ids).exists()
        and not NotificationLog.objects.filter(status="PENDING").exists()
        and not Timer.objects.pending().filter(due_at__lte=soon).exists()
        and not missing(stream)
    )


def settled_twice(stream: Stream, poison_run_ids: set[int]) -> bool:
    """Settled, and still so two seconds later (nothing was in flight between two looks)."""
    if not settled(stream, poison_run_ids):
        return False
    time.sleep(2)
    return settled(stream, poison_run_ids)


def missing(stream: Stream) -> list[str]:
    """What an accepted request or a due timer should have caused and has not (yet)."""
    from care_events.platform.bus.models import Timer
    from notifications.models import GiveUpReason, NotificationLog
    from tasks_app.models import EscalationTask

    sent = NotificationLog.objects.filter(sent_at__isnull=False)
    # A warning that reached its breach, or a stage of a task closed meanwhile, is given up by design.
    dropped = NotificationLog.objects.filter(
        status="CANCELLED", error_code__in=[GiveUpReason.BREACH_DUE, GiveUpReason.TASK_CLOSED]
    )
    problems = []
    responses = [a.subject for a in stream.accepted if a.kind == "escalation"]
    tasks = dict(
        EscalationTask.objects.filter(source_key__in=[f"response:{r}" for r in responses]).values_list(
            "source_key", "pk"
        )
    )
    # A task closed by its nurse (the twilio_outage scenario's) needs no alert any more.
    notified = set(sent.filter(type="TASK_ASSIGNED").values_list("task_id", flat=True)) | set(
        EscalationTask.objects.filter(status__in=["RESOLVED", "CANCELLED"]).values_list("pk", flat=True)
    )
    for response in responses:
        task = tasks.get(f"response:{response}")
        if task is None:
            problems.append(f"response {response}: no task")
        elif task not in notified:
            problems.append(f"task {task}: nurse not notified")
    checked_in = set(sent.filter(type="CHECKIN").values_list("episode_id", flat=True))
    given_up = given_up_checkins()
    for accepted in stream.accepted:
        episode = uuid.UUID(accepted.subject) if accepted.kind == "discharge" else None
        if episode is not None and episode not in checked_in and episode not in given_up:
            problems.append(f"episode {accepted.subject}: no check-in SMS, and no call task instead")
    for kind, subject in Timer.objects.filter(
        kind__in=["SLA_WARNING", "SLA_BREACH"], fired_at__isnull=False
    ).values_list("kind", "subject_id"):
        if not (sent | dropped).filter(type=kind, task_id=subject).exists():
            problems.append(f"task {subject}: {kind} fired, no message sent")
    # Every other task (call tasks for unanswered check-ins, the SLA tasks) is assigned and its nurse told.
    for task in EscalationTask.objects.exclude(pk__in=notified).values_list("pk", flat=True):
        problems.append(f"task {task}: nurse not notified")
    return sorted(set(problems))


def slowest(stream: Stream, delay: float) -> str:
    """The timeline of the escalation that waited longest, in seconds after the API accepted it."""
    from care_events.platform.bus.models import Event, HandlerRun
    from notifications.models import NotificationLog
    from tasks_app.models import EscalationTask

    for accepted in stream.accepted:
        if accepted.kind != "escalation":
            continue
        task = EscalationTask.objects.filter(source_key=f"response:{accepted.subject}").first()
        log = NotificationLog.objects.filter(task=task, type="TASK_ASSIGNED").first()
        if (
            task is None
            or log is None
            or log.sent_at is None
            or abs(log.sent_at.timestamp() - accepted.at - delay) > 0.01
        ):
            continue

        def t(when: dt.datetime | None, at: float = accepted.at) -> str:
            return "-" if when is None else f"{when.timestamp() - at:+.1f}"

        events = Event.objects.filter(data__task_id=str(task.pk)) | Event.objects.filter(
            data__response_id=accepted.subject
        )
        runs = [
            f"{r.handler} attempts {r.attempts} enqueued {t(r.enqueued_at)} finished {t(r.finished_at)}"
            for r in HandlerRun.objects.filter(event__in=events).order_by("pk")
        ]
        return (
            f"task created {t(task.created_at)}, assigned {t(task.assigned_at)}; message written {t(log.created_at)}, "
            f"attempts {log.attempts}, sent {t(log.sent_at)}; runs: {'; '.join(runs)}"
        )
    return "?"


def given_up_checkins() -> set[uuid.UUID]:
    """Episodes whose check-in SMS was given up once its response window was over (its deadline, by design:
    notifications.services.create.message_deadline; CANCELLED `window_closed`, or FAILED when its provider refused
    it) and whose nurse was told to call the patient instead."""
    from notifications.models import GiveUpReason, NotificationLog
    from tasks_app.models import EscalationTask

    given_up = Q(status="FAILED") | Q(status="CANCELLED", error_code=GiveUpReason.WINDOW_CLOSED)
    failed = set(NotificationLog.objects.filter(given_up, type="CHECKIN").values_list("episode_id", flat=True))
    # Told, or the call task closed by a nurse already (the twilio_outage scenario resolves tasks).
    called = set(
        EscalationTask.objects.filter(episode_id__in=failed, source_key__startswith="no-answer:")
        .filter(
            Q(notifications__type="TASK_ASSIGNED", notifications__sent_at__isnull=False)
            | Q(status__in=["RESOLVED", "CANCELLED"])
        )
        .values_list("episode_id", flat=True)
    )
    return {episode for episode in failed if episode in called}


def count(result: Result, lab: Lab, stream: Stream, poison_run_ids: set[int]) -> None:
    from care_events.platform.bus.models import HandlerRun, Timer
    from notifications.models import NotificationLog
    from tasks_app.models import EscalationTask

    result.accepted = dict(Counter(a.kind for a in stream.accepted))
    result.api_errors = dict(stream.errors)
    result.never_accepted = stream.never_accepted
    problems = missing(stream)
    result.lost, result.lost_detail = len(problems), problems[:20]
    result.checkins_given_up = len(given_up_checkins())
    requests_ = [r for r in lab.stack.twilio.requests if r.sid]
    result.twilio_requests = len(requests_)
    logged = Counter(
        NotificationLog.objects.exclude(provider_message_id="").values_list("provider_message_id", flat=True)
    )
    orphans = [r for r in requests_ if r.sid not in logged]
    same = Counter((r.form.get("To"), r.form.get("Body")) for r in requests_)
    result.sent_twice = len(orphans) + sum(n - 1 for n in same.values() if n > 1)
    from django.utils import timezone

    result.timers_unfired = Timer.objects.pending().filter(due_at__lte=timezone.now()).count()
    result.timers_fired_twice = Timer.objects.filter(attempts__gt=1, last_error="").count()
    result.undispatched = HandlerRun.objects.exclude(status="SUCCEEDED").exclude(pk__in=poison_run_ids).count()
    result.pending_notifications = NotificationLog.objects.filter(status="PENDING").count()
    delays = []
    tasks = dict(EscalationTask.objects.values_list("source_key", "pk"))
    sent_at = dict(NotificationLog.objects.filter(type="TASK_ASSIGNED").values_list("task_id", "sent_at"))
    for accepted in stream.accepted:
        if accepted.kind == "escalation":
            when = sent_at.get(tasks.get(f"response:{accepted.subject}"))
            if when is not None:
                delays.append(when.timestamp() - accepted.at)
    result.worst_delay_s = round(max(delays, default=0.0), 2)
    if delays:
        result.notes.append(f"slowest escalation: {slowest(stream, max(delays))}")
    lateness = [
        (fired - due).total_seconds()
        for fired, due in Timer.objects.exclude(fired_at=None).values_list("fired_at", "due_at")
    ]
    result.worst_timer_lateness_s = round(max(lateness, default=0.0), 2)
    result.slowest_answer_s = round(stream.slowest_answer, 2)
    about_tasks = NotificationLog.objects.filter(recipient_nurse__isnull=False, task__isnull=False)
    result.alerts_after_resolution = about_tasks.filter(
        Q(sent_at__gt=F("task__resolved_at")) | Q(sent_at__gt=F("task__cancelled_at"))
    ).count()
    warnings = NotificationLog.objects.filter(type="SLA_WARNING", sent_at__gt=F("task__sla_breach_at"))
    result.warnings_after_breach = warnings.count()


def summary(result: Result) -> str:
    return (
        f"accepted {result.accepted}, never accepted {result.never_accepted}, lost {result.lost}, "
        f"sent twice {result.sent_twice}, timers unfired {result.timers_unfired}, fired twice "
        f"{result.timers_fired_twice}, undispatched {result.undispatched}, pending notifications "
        f"{result.pending_notifications}, worst delay {result.worst_delay_s} s, worst timer lateness "
        f"{result.worst_timer_lateness_s} s, Twilio requests {result.twilio_requests}, check-ins given up for a "
        f"call task {result.checkins_given_up}, settled {result.settled_after_s} s after the stream"
        + (
            f" (late at the deadline: {result.late_at_deadline}, {result.queued_at_deadline} queued)"
            if result.late_at_deadline
            else ""
        )
        + f"; slowest API answer {result.slowest_answer_s} s, alerts after their task was closed "
        f"{result.alerts_after_resolution}, SLA warnings after the breach {result.warnings_after_breach}"
        + (f", retries closer than the policy {result.retries_too_close}" if result.retries_too_close else "")
        + (f"; API errors {result.api_errors}" if result.api_errors else "")
        + (f"; LOST: {result.lost_detail}" if result.lost_detail else "")
        + "".join(f"\n   {note}" for note in result.notes)
    )
