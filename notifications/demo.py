"""The product's story, end to end, against a running server (`manage.py demo`).

The demo plays the interaction agent through the REST API of a running server (`requests`, the agent's token): a
patient, an episode, the discharge; then it waits for the check-in SMS, answers it with a worrying (HIGH) response
and watches the rest happen by polling the database the server writes to: the escalation, the task, its
assignment to a nurse on shift, the nurse's message, and either a one-minute SLA (a flag the demo makes itself:
the agent cannot choose an SLA) warned and breached, or (`resolve=True`) the task resolved by its nurse through the
API with its SLA timers cancelled. Every wait is bounded; a step that does not happen stops the story with what was
expected and a hint.

Setting up (nurses on shift, the agent's service account, API keys) is done with ORM writes in this process: the
demo runs on the server's database. It sees the whole product (nurses and tasks, notification logs), so it lives in
notifications, the one app allowed to import both others (docs/architecture.md#apps).

It prints ids, event names and message types, never a patient's details (the made-up name once, at admission).
"""

import datetime as dt
import itertools
import random
import re
import time
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from care_events.choices import NotificationType, Severity
from care_events.models import AgentInteraction, Episode, OutreachAttempt, Patient
from care_events.platform.api_clients.models import TokenScope
from care_events.platform.api_clients.tokens import agent_account_ensure, api_token_create
from care_events.platform.bus.models import Event, HandlerRun, Timer, TimerKind
from notifications.models import NotificationLog, NotificationStatus
from tasks_app.models import OPEN_TASK_STATUSES, EscalationTask, Nurse, NurseShift
from tasks_app.services.nurses import nurse_user_save
from tasks_app.services.tasks import task_create

T = TypeVar("T")

# Its own service account: rotating the key of the real agent's account (interaction-agent) would lock it out.
DEMO_AGENT_USERNAME = "demo-interaction-agent"


@dataclass(frozen=True)
class DemoNurse:
    email: str
    first_name: str
    last_name: str
    phone: str
    supervisor: bool


# Made-up staff with numbers of the 555-01xx range, which is reserved for fiction and reaches nobody.
DEMO_NURSES = (
    DemoNurse("demo-nurse-1@sequora-demo.invalid", "Nora", "Demo", "+14155550191", supervisor=False),
    DemoNurse("demo-nurse-2@sequora-demo.invalid", "Iris", "Demo", "+14155550192", supervisor=False),
    DemoNurse("demo-supervisor@sequora-demo.invalid", "Sam", "Demo", "+14155550193", supervisor=True),
)
SHIFT_LENGTH = dt.timedelta(hours=12)
# Room for the tasks of interrupted runs, which stay open: a full nurse is passed over by the round-robin.
DEMO_MAX_OPEN_TASKS = 100

# The patient's made-up identity; a fresh fictional number per run (area codes other than the nurses' 415).
PATIENT = {"first_name": "Ada", "last_name": "Demo", "date_of_birth": "1948-05-17", "preferred_language": "en"}
PATIENT_AREA_CODES = ("202", "212", "213", "305", "312", "404", "503", "602", "617", "702", "713", "808", "919")
DEMO_PHONE = re.compile(r"^\+1\d{3}55501\d\d$")
# Where the patient may live: the demo picks the zone where it is early afternoon now, so the server's quiet hours
# (21:00-08:00 in the patient's zone by default) cannot hold the check-in back until the morning.
PATIENT_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)

ANSWER = {
    "text": "I gained four pounds since yesterday and my ankles are swollen.",
    "severity": Severity.HIGH.value,
    "reason_codes": ["HF_WEIGHT_GAIN"],
}
# The one-minute task whose SLA the demo watches (warning at 45 s, breach at 60 s). The agent cannot choose an SLA
# (the product sets it: 2 h for a HIGH flag), so the demo makes this task itself rather than through raise-flag/.
FLAG_SEVERITY = Severity.HIGH
FLAG_REASON_CODES = ["HF_SHORTNESS_OF_BREATH"]
FLAG_ACTION = "NURSE_CALLBACK_2H"
FLAG_SLA_MINUTES = 1

ADMISSION = "admission"
DISCHARGE = "discharge"
CHECKIN = "check-in SMS"
ANSWERED = "patient's answer"
ESCALATION = "escalation"
ASSIGNMENT = "assignment"
NURSE_MESSAGE = "nurse's message"
FLAG_RAISED = "1-minute flag"
SLA_WARNING = "SLA warning"
SLA_BREACH = "SLA breach"
RESOLUTION = "resolution"
BREACH_STORY = (
    ADMISSION,
    DISCHARGE,
    CHECKIN,
    ANSWERED,
    ESCALATION,
    ASSIGNMENT,
    NURSE_MESSAGE,
    FLAG_RAISED,
    SLA_WARNING,
    SLA_BREACH,
)
RESOLVE_STORY = (ADMISSION, DISCHARGE, CHECKIN, ANSWERED, ESCALATION, ASSIGNMENT, NURSE_MESSAGE, RESOLUTION)

OUT_STATUSES = (NotificationStatus.SENT, NotificationStatus.DELIVERED, NotificationStatus.READ)
DEAD_STATUSES = (NotificationStatus.FAILED, NotificationStatus.CANCELLED)
HTTP_TIMEOUT_SECONDS = 15


# --- setting up ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAccounts:
    agent_token: str
    nurse_tokens: dict[int, str]  # demo nurse id → her API key (to resolve her task as she would)
    supervisor_id: int
    shift_ends_at: dt.datetime


@transaction.atomic
def demo_accounts_ensure(*, now: dt.datetime | None = None) -> DemoAccounts:
    """The demo's nurses on shift now (two nurses and a supervisor), the agent's service account, and fresh API
    keys for them all. Idempotent: a second run finds the nurses and their shift and only replaces the keys."""
    now = now or timezone.now()
    nurse_tokens: dict[int, str] = {}
    supervisor_id = 0
    shift_ends: list[dt.datetime] = []
    for spec in DEMO_NURSES:
        nurse = _demo_nurse_ensure(spec)
        shift_ends.append(_shift_covering(nurse=nurse, now=now).ends_at)
        nurse_tokens[nurse.pk] = api_token_create(user=nurse.user, scope=TokenScope.NURSE)
        if spec.supervisor:
            supervisor_id = nurse.pk
    agent = agent_account_ensure(username=DEMO_AGENT_USERNAME)
    return DemoAccounts(
        agent_token=api_token_create(user=agent, scope=TokenScope.AGENT),
        nurse_tokens=nurse_tokens,
        supervisor_id=supervisor_id,
        shift_ends_at=min(shift_ends),
    )


def _demo_nurse_ensure(spec: DemoNurse) -> Nurse:
    # The login a nurse is created with in admin: username = email, no usable password (the demo uses API keys).
    user = nurse_user_save(
        nurse=Nurse.objects.filter(user__username=spec.email.lower()).first(),
        first_name=spec.first_name,
        last_name=spec.last_name,
        email=spec.email,
    )
    nurse, _ = Nurse.objects.update_or_create(
        user=user,
        defaults={
            "phone": spec.phone,
            "email": spec.email,
            "is_active": True,
            "is_supervisor": spec.supervisor,
            "max_open_tasks": DEMO_MAX_OPEN_TASKS,
        },
    )
    return nurse


def _shift_covering(*, nurse: Nurse, now: dt.datetime) -> NurseShift:
    """Her shift running now, or a new one from an hour ago for SHIFT_LENGTH. Shifts of one nurse must not
    overlap (a database constraint): the new one starts after any that ended in that hour and ends before any
    that starts within it."""
    current = nurse.shifts.filter(starts_at__lte=now, ends_at__gt=now).first()
    if current is not None:
        return current
    starts_at, ends_at = now - dt.timedelta(hours=1), now + SHIFT_LENGTH
    for shift in nurse.shifts.filter(starts_at__lt=ends_at, ends_at__gt=starts_at):
        if shift.ends_at <= now:
            starts_at = max(starts_at, shift.ends_at)
        else:
            ends_at = min(ends_at, shift.starts_at)
    return NurseShift.objects.create(nurse=nurse, starts_at=starts_at, ends_at=ends_at)


# --- the story ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    at: float  # seconds since the story started
    detail: str

    def line(self) -> str:
        return f"{self.at:7.1f} s  {self.name:<17} {self.detail}"


@dataclass
class DemoResult:
    completed: bool = False
    resolve: bool = False
    steps: list[Step] = field(default_factory=list)
    ids: list[tuple[str, str]] = field(default_factory=list)  # (what, id), in the order they appeared
    notes: list[str] = field(default_factory=list)
    failed_step: str = ""
    reason: str = ""
    hint: str = ""
    elapsed: float = 0.0

    @property
    def story(self) -> tuple[str, ...]:
        return RESOLVE_STORY if self.resolve else BREACH_STORY


class StepFailedError(Exception):
    def __init__(self, step: str, reason: str, hint: str) -> None:
        self.step, self.reason, self.hint = step, reason, hint
        super().__init__(f"{step}: {reason}")


def demo_story_play(
    *,
    base_url: str,
    accounts: DemoAccounts,
    resolve: bool,
    step_timeout: float,
    checkin_delay: float,
    out: Callable[[str], None],
    poll_interval: float = 0.25,
) -> DemoResult:
    """Play the story against the server at `base_url`, printing one timeline line per step through `out` as it
    happens. `checkin_delay` is the CHECKIN_DELAY the server is expected to run with (its check-in is awaited that
    long plus `step_timeout`); every other step is awaited `step_timeout` seconds after it is due."""
    story = _Story(
        base_url=base_url,
        accounts=accounts,
        step_timeout=step_timeout,
        checkin_delay=checkin_delay,
        out=out,
        poll_interval=poll_interval,
    )
    story.result.resolve = resolve
    try:
        story.play(resolve=resolve)
    except StepFailedError as failure:
        story.result.failed_step, story.result.reason, story.result.hint = failure.step, failure.reason, failure.hint
    else:
        story.result.completed = True
        story.tidy_up()
    story.result.elapsed = story.elapsed()
    return story.result


def demo_summary(result: DemoResult, *, base_url: str) -> str:
    """The one-screen summary printed after the timeline (a failure's hint is the command's error message)."""
    done = {step.name for step in result.steps}
    if result.completed:
        ending = "a 1-minute SLA warned and breached" if not result.resolve else "the task resolved, its timers off"
        lines = [f"Story complete in {result.elapsed:.1f} s: {len(result.steps)} steps, {ending}."]
    else:
        lines = [f'Story stopped at "{result.failed_step}" after {result.elapsed:.1f} s: {result.reason}.']
    lines.append("  " + " -> ".join(f"{name} [{'ok' if name in done else '--'}]" for name in result.story))
    lines += [f"  {what:<18} {value}" for what, value in result.ids]
    lines += [f"  {note}" for note in result.notes]
    admin = base_url.rstrip("/") + "/admin"
    lines.append(
        f"  see it in admin: {admin}/tasks_app/escalationtask/ (tasks), {admin}/care_events/event/ (events), "
        f"{admin}/notifications/notificationlog/ (messages)"
    )
    return "\n".join(lines)


def server_command(checkin_delay: float) -> str:
    """How to start the server with the compressed time the demo expects (quiet hours off)."""
    delay = max(1, round(checkin_delay))
    return (
        f"CHECKIN_DELAY={delay} CHECKIN_RESPONSE_WINDOW=600 QUIET_HOURS_START=0 QUIET_HOURS_END=0 bash scripts/run.sh"
    )


def server_env_hint(checkin_delay: float) -> str:
    return (
        f"the server must run with compressed time: start it with {server_command(checkin_delay)}, and give the "
        f"demo the same delay (--checkin-delay {max(1, round(checkin_delay))})"
    )


class _Story:
    def __init__(
        self,
        *,
        base_url: str,
        accounts: DemoAccounts,
        step_timeout: float,
        checkin_delay: float,
        out: Callable[[str], None],
        poll_interval: float,
    ) -> None:
        self.api = base_url.rstrip("/") + "/api/v1/"
        self.base_url = base_url
        self.accounts = accounts
        self.step_timeout = step_timeout
        self.checkin_delay = checkin_delay
        self.out = out
        self.poll_interval = poll_interval
        self.http = requests.Session()
        self.run_id = uuid.uuid4().hex[:12]
        self.keys = itertools.count(1)
        self.result = DemoResult()
        self.started = time.monotonic()
        self.started_at = timezone.now()
        self.interaction_id = ""
        self.tasks: list[str] = []

    # -- the steps --

    def play(self, *, resolve: bool) -> None:
        patient_id, episode_id = self.admission()
        self.discharge(episode_id)
        attempt_id = self.checkin(patient_id, episode_id)
        response_id = self.answer(episode_id, attempt_id)
        task_id = self.escalation(response_id)
        nurse_id = self.assignment(task_id)
        self.nurse_message(task_id, nurse_id)
        if resolve:
            self.resolution(task_id, nurse_id)
            return
        flag_task = self.flag()
        self.sla_stage(flag_task, SLA_WARNING, "task/sla_warning", NotificationType.SLA_WARNING, TimerKind.SLA_WARNING)
        self.sla_stage(flag_task, SLA_BREACH, "task/sla_breach", NotificationType.SLA_BREACH, TimerKind.SLA_BREACH)

    def admission(self) -> tuple[str, str]:
        zone = _afternoon_zone(timezone.now())
        phone = self.unused_phone()
        patient = self.post(ADMISSION, "patients/", {**PATIENT, "phone": phone, "timezone": zone}, expect=201)
        # The server answered with a token this process just wrote: it reads the same database. Check the other
        # way round too, since the rest of the story is watched from here.
        if not Patient.objects.filter(pk=patient["id"]).exists():
            raise StepFailedError(ADMISSION, "the server created a patient this command cannot see", SAME_DB_HINT)
        admitted_at = (timezone.now() - dt.timedelta(days=4)).isoformat()
        episode = self.post(
            ADMISSION,
            "episodes/",
            {"patient_id": patient["id"], "admitted_at": admitted_at, "condition": "HF", "facility": _facility()},
            expect=201,
        )
        self.ids("patient", patient["id"])
        self.ids("episode", episode["id"])
        self.step(
            ADMISSION,
            f"patient {patient['id']} (made up: {PATIENT['first_name']} {PATIENT['last_name']}, in {zone}), "
            f"episode {episode['id']} (HF)",
        )
        return patient["id"], episode["id"]

    def discharge(self, episode_id: str) -> None:
        self.post(DISCHARGE, f"episodes/{episode_id}/discharge/", {}, expect=202)
        self.step(
            DISCHARGE,
            f"episode {episode_id}: POST discharge/ 202, patient/discharged; check-in due in ~{self.checkin_delay:g} s",
        )

    def checkin(self, patient_id: str, episode_id: str) -> str:
        timeout = self.checkin_delay + self.step_timeout
        latest = timezone.now() + dt.timedelta(seconds=timeout)

        def sent() -> NotificationLog | None:
            log = NotificationLog.objects.filter(
                type=NotificationType.CHECKIN, episode_id=episode_id, recipient_patient_id=uuid.UUID(patient_id)
            ).first()
            if log is None:
                timer = Timer.objects.filter(kind=TimerKind.CHECKIN_DUE, subject_id=episode_id).first()
                if timer is not None and timer.fired_at is None and timer.due_at > latest:
                    # Known at once, so said at once: the server's CHECKIN_DELAY (or its quiet hours) is not what
                    # this demo was told to expect.
                    discharged_at = Episode.objects.values_list("discharged_at", flat=True).get(pk=episode_id)
                    delay = (timer.due_at - (discharged_at or self.started_at)).total_seconds()
                    raise StepFailedError(
                        CHECKIN,
                        f"the server scheduled the check-in {delay:.0f} s after the discharge (its CHECKIN_DELAY, or "
                        f"quiet hours), later than this demo waits ({timeout:.0f} s)",
                        server_env_hint(self.checkin_delay),
                    )
                return None
            return _out_or_raise(CHECKIN, log)

        log = self.wait(CHECKIN, "the check-in SMS", sent, timeout=timeout, hint=lambda: self.checkin_hint(episode_id))
        self.ids("check-in message", str(log.pk))
        self.step(CHECKIN, f"notification {log.pk} {log.type} via {log.channel} to the patient: {log.status}")
        attempt = OutreachAttempt.objects.filter(plan__episode_id=episode_id).order_by("-attempt_number").first()
        if attempt is None:  # written in the transaction that asked for the SMS: cannot be missing
            raise StepFailedError(CHECKIN, "the check-in SMS has no outreach attempt", "see admin → Outreach attempts")
        return str(attempt.pk)

    def answer(self, episode_id: str, attempt_id: str) -> str:
        interaction = self.post(
            ANSWERED, "interactions/", {"episode_id": episode_id, "outreach_attempt_id": attempt_id}, expect=201
        )
        self.interaction_id = interaction["id"]
        response = self.post(ANSWERED, f"interactions/{interaction['id']}/responses/", ANSWER, expect=201)
        self.ids("interaction", interaction["id"])
        self.step(
            ANSWERED,
            f"interaction {interaction['id']}, response {response['id']}: {ANSWER['severity']} "
            f"{','.join(ANSWER['reason_codes'])}; interaction/response_received",
        )
        return str(response["id"])

    def escalation(self, response_id: str) -> str:
        def escalated() -> Event | None:
            return Event.objects.filter(name="interaction/escalated", data__response_id=response_id).first()

        event = self.wait(
            ESCALATION,
            "the escalation of the HIGH answer",
            escalated,
            timeout=self.step_timeout,
            hint=lambda: _work_hint("interaction/response_received", response_id=response_id),
        )
        task = EscalationTask.objects.get(pk=event.data["task_id"])
        self.tasks.append(str(task.pk))
        self.ids("task (the answer)", str(task.pk))
        self.step(
            ESCALATION,
            f"task {task.pk} ({task.severity}, {task.priority}, SLA {task.sla_minutes} min): interaction/escalated, "
            "task/created",
        )
        return str(task.pk)

    def assignment(self, task_id: str) -> int:
        def assigned() -> EscalationTask | None:
            task = EscalationTask.objects.get(pk=task_id)
            return task if task.assigned_to_id is not None else None

        task = self.wait(
            ASSIGNMENT,
            "the task's assignment to a nurse on shift",
            assigned,
            timeout=self.step_timeout,
            hint=lambda: self.assignment_hint(task_id),
        )
        nurse_id = task.assigned_to_id
        assert nurse_id is not None  # for the type checker: assigned() returned it only with an assignee
        mine = "a demo nurse" if nurse_id in self.accounts.nurse_tokens else "not a demo nurse"
        self.step(ASSIGNMENT, f"task {task_id} {task.status} to nurse {nurse_id} ({mine}, on shift): task/assigned")
        return nurse_id

    def nurse_message(self, task_id: str, nurse_id: int) -> None:
        def sent() -> NotificationLog | None:
            log = NotificationLog.objects.filter(
                type=NotificationType.TASK_ASSIGNED, task_id=uuid.UUID(task_id), recipient_nurse_id=nurse_id
            ).first()
            return _out_or_raise(NURSE_MESSAGE, log) if log is not None else None

        log = self.wait(
            NURSE_MESSAGE,
            "the nurse's TASK_ASSIGNED message",
            sent,
            timeout=self.step_timeout,
            hint=lambda: _work_hint("notification/send", task_id=task_id, notification_type="TASK_ASSIGNED"),
        )
        self.step(
            NURSE_MESSAGE, f"notification {log.pk} {log.type} via {log.channel} to nurse {nurse_id}: {log.status}"
        )

    def flag(self) -> str:
        """A flag with a one-minute SLA, made here with the product's task service (`task_create`, whose save emits
        `task/created` as a flag's does): through the API the agent cannot choose an SLA."""
        interaction = AgentInteraction.objects.select_related("episode").get(pk=self.interaction_id)
        task = task_create(
            episode=interaction.episode,
            interaction=interaction,
            severity=FLAG_SEVERITY,
            reason_codes=FLAG_REASON_CODES,
            action_type=FLAG_ACTION,
            sla_minutes=FLAG_SLA_MINUTES,
        )
        self.tasks.append(str(task.pk))
        self.ids("task (the flag)", str(task.pk))
        warning_at, breach_at = (self.since_start(moment) for moment in (task.sla_warning_at, task.sla_breach_at))
        self.step(
            FLAG_RAISED,
            f"task {task.pk} (SLA {task.sla_minutes} min, made by the demo: the agent cannot choose an SLA); "
            f"warning due at {warning_at:.0f} s, breach at {breach_at:.0f} s",
        )
        return str(task.pk)

    def sla_stage(self, task_id: str, step: str, event_name: str, message: NotificationType, kind: TimerKind) -> None:
        due_at = EscalationTask.objects.values_list(
            "sla_warning_at" if kind == TimerKind.SLA_WARNING else "sla_breach_at", flat=True
        ).get(pk=task_id)

        def reached() -> tuple[Event, list[NotificationLog]] | None:
            event = Event.objects.filter(name=event_name, data__task_id=task_id).first()
            logs = list(
                NotificationLog.objects.filter(type=message, task_id=uuid.UUID(task_id)).order_by("recipient_nurse_id")
            )
            for log in logs:
                _out_or_raise(step, log)
            if event is None or not logs or any(log.status not in OUT_STATUSES for log in logs):
                return None
            return event, logs

        event, logs = self.wait(
            step,
            f"{event_name} and its {message} messages",
            reached,
            timeout=max(0.0, (due_at - timezone.now()).total_seconds()) + self.step_timeout,
            hint=lambda: _timer_hint(task_id, kind),
        )
        late = (event.created_at - due_at).total_seconds()
        recipients = ", ".join(f"{self.nurse_label(log.recipient_nurse_id)} {log.channel} {log.status}" for log in logs)
        self.step(step, f"task {task_id}: {event_name} ({late:.1f} s after due); {message} to {recipients}")

    def resolution(self, task_id: str, nurse_id: int) -> None:
        token = self.accounts.nurse_tokens.get(nurse_id)
        if token is None:
            raise StepFailedError(
                RESOLUTION,
                f"the task went to nurse {nurse_id}, who is not a demo nurse: the demo acts only as its own nurses",
                "take other nurses off shift while the demo runs, or run it without --resolve",
            )
        sla = (TimerKind.SLA_WARNING, TimerKind.SLA_BREACH)
        # The timers are written by monitor-sla, beside the assignment: resolving before they exist would show
        # nothing being cancelled.
        self.wait(
            RESOLUTION,
            "the task's SLA timers",
            lambda: Timer.objects.filter(subject_id=task_id, kind__in=sla).count() == len(sla),
            timeout=self.step_timeout,
            hint=lambda: _work_hint("task/created", task_id=task_id),
        )
        resolution = {"resolution": "Called the patient; diuretic adjusted with cardiology (demo)."}
        task = self.post(RESOLUTION, f"tasks/{task_id}/resolve/", resolution, expect=200, token=token)
        self.wait(
            RESOLUTION,
            "the SLA timers' cancellation",
            lambda: Timer.objects.filter(subject_id=task_id, kind__in=sla, cancelled_at__isnull=False).count() == 2,
            timeout=self.step_timeout,
            hint="resolving cancels both timers in its transaction: see admin → Timers",
        )
        self.step(
            RESOLUTION,
            f"task {task_id} {task['status']} by nurse {nurse_id} (POST resolve/ 200): task/resolved; "
            "SLA_WARNING and SLA_BREACH timers cancelled, neither will fire",
        )

    def tidy_up(self) -> None:
        """After a complete story: the agent closes the check-in and the nurses resolve what is still open, so runs
        do not pile up open tasks (nor their SLA alerts hours later). Reported, never a failure of the story."""
        try:
            self.post("tidy-up", f"interactions/{self.interaction_id}/complete/", {"outcome": "ESCALATED_TO_NURSE"})
            resolved = []
            for task in EscalationTask.objects.filter(pk__in=self.tasks, status__in=OPEN_TASK_STATUSES):
                token = self.accounts.nurse_tokens.get(task.assigned_to_id or 0)
                if token is None:
                    self.result.notes.append(f"tidy-up: task {task.pk} left open (not held by a demo nurse)")
                    continue
                body = {"resolution": "Demo over."}
                self.post("tidy-up", f"tasks/{task.pk}/resolve/", body, expect=200, token=token)
                resolved.append(str(task.pk))
        except StepFailedError as failure:
            self.result.notes.append(f"tidy-up incomplete: {failure.reason}")
            return
        resolved_note = f"; resolved the open tasks {', '.join(resolved)}" if resolved else ""
        self.result.notes.append(f"tidy-up: check-in completed (checkin/completed){resolved_note}")

    # -- diagnostics for hints --

    def checkin_hint(self, episode_id: str) -> str:
        timer = Timer.objects.filter(kind=TimerKind.CHECKIN_DUE, subject_id=episode_id).first()
        if timer is None:
            return "the check-in was never scheduled: " + _work_hint("patient/discharged", episode_id=episode_id)
        if timer.fired_at is None:
            due = (timer.due_at - self.started_at).total_seconds()
            return f"the server scheduled the check-in {due:.0f} s after the start (is Beat running?); " + (
                server_env_hint(self.checkin_delay)
            )
        return "the check-in fired but its SMS was not logged: " + _work_hint(
            "notification/send", episode_id=episode_id, notification_type="CHECKIN"
        )

    def assignment_hint(self, task_id: str) -> str:
        if NotificationLog.objects.filter(type=NotificationType.TASK_UNASSIGNED, task_id=uuid.UUID(task_id)).exists():
            return (
                "nobody on shift had room, so the supervisors were told (TASK_UNASSIGNED): check the demo nurses' "
                "shifts in admin → Nurses"
            )
        return _work_hint("task/created", task_id=task_id)

    # -- plumbing --

    def post(
        self, step: str, path: str, body: dict[str, Any], *, expect: int = 0, token: str | None = None
    ) -> dict[str, Any]:
        """POST as the agent (or a nurse, with her token), with an Idempotency-Key as a careful client sends."""
        headers = {
            "Authorization": f"Token {token or self.accounts.agent_token}",
            "Idempotency-Key": f"demo-{self.run_id}-{next(self.keys)}",
        }
        try:
            response = self.http.post(self.api + path, json=body, headers=headers, timeout=HTTP_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise StepFailedError(
                step,
                f"no answer from {self.base_url} ({type(exc).__name__})",
                f"start the product with {server_command(self.checkin_delay)}, or give its address with --url",
            ) from None
        if response.status_code == 401:
            raise StepFailedError(step, "the server refused the API key this command just made", SAME_DB_HINT)
        if (expect and response.status_code != expect) or response.status_code >= 400:
            raise StepFailedError(
                step,
                f"POST {path} answered {response.status_code} {_error_summary(response)}",
                "see the server's log; the API's errors are described in docs/api.md",
            )
        answer = response.json()
        return answer if isinstance(answer, dict) else {}

    def wait(
        self,
        step: str,
        what: str,
        found: Callable[[], T | None],
        *,
        timeout: float,
        hint: Callable[[], str] | str,
    ) -> T:
        """Poll `found` until it returns something (or raises StepFailedError), at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = found()
            if result is not None and result is not False:
                return result
            if time.monotonic() >= deadline:
                raise StepFailedError(
                    step, f"{what} did not happen within {timeout:.0f} s", hint() if callable(hint) else hint
                )
            time.sleep(self.poll_interval)

    def unused_phone(self) -> str:
        taken = set(Patient.objects.filter(phone__regex=DEMO_PHONE.pattern).values_list("phone", flat=True))
        free = [
            phone for area in PATIENT_AREA_CODES for n in range(100, 200) if (phone := f"+1{area}5550{n}") not in taken
        ]
        if not free:
            raise StepFailedError(ADMISSION, "every fictional demo phone number is taken", "delete old demo patients")
        return random.choice(free)

    def step(self, name: str, detail: str) -> None:
        step = Step(name=name, at=self.elapsed(), detail=detail)
        self.result.steps.append(step)
        self.out(step.line())

    def ids(self, what: str, value: str) -> None:
        self.result.ids.append((what, value))

    def nurse_label(self, nurse_id: int | None) -> str:
        return f"nurse {nurse_id}" + (" (supervisor)" if nurse_id == self.accounts.supervisor_id else "")

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def since_start(self, moment: dt.datetime) -> float:
        return (moment - self.started_at).total_seconds()


SAME_DB_HINT = (
    "the server and this command use different databases: run the demo with the server's DATABASE_URL and settings "
    "module (scripts/run.sh started without DATABASE_URL uses its embedded PostgreSQL, "
    "postgres://postgres@127.0.0.1:${SEQUORA_PG_PORT:-54329}/sequora)"
)


def _out_or_raise(step: str, log: NotificationLog) -> NotificationLog | None:
    """The log once its message is out (SENT, DELIVERED or READ), None while it is pending; a dead message stops
    the story (its error code, never its text, which can quote the recipient)."""
    if log.status in DEAD_STATUSES:
        raise StepFailedError(
            step,
            f"notification {log.pk} {log.type} is {log.status} ({log.error_code or 'no error code'})",
            "see admin → Notification logs; with local settings every channel uses the local backend",
        )
    return log if log.status in OUT_STATUSES else None


def _work_hint(event_name: str, **data: str) -> str:
    """What became of the handler runs of the event with this payload: pending, failed, or never recorded."""
    lookup = Q(name=event_name)
    for key, value in data.items():
        lookup &= Q(**{f"data__{key}": value})
    event = Event.objects.filter(lookup).first()
    if event is None:
        return f"no {event_name} event was recorded for it yet; are the worker and Beat running?"
    runs = list(HandlerRun.objects.filter(event=event))
    failed = [run.handler for run in runs if run.status == HandlerRun.Status.FAILED]
    if failed:
        return f"handler {', '.join(failed)} of {event_name} FAILED: see admin → Handler runs, then re-drive it"
    waiting = [run for run in runs if run.status == HandlerRun.Status.PENDING]
    if any(run.attempts for run in waiting):
        return f"{event_name}'s handler is failing and retrying: see its last error in admin → Handler runs"
    if waiting:
        return (
            f"{event_name}'s handler runs are PENDING, not taken by any worker: is a worker consuming the urgent and "
            "default queues, on the broker (REDIS_URL) the server publishes to?"
        )
    return f"{event_name} was handled; see admin → Events and Handler runs"


def _timer_hint(task_id: str, kind: TimerKind) -> str:
    timer = Timer.objects.filter(subject_id=task_id, kind=kind).first()
    if timer is None:
        return "the SLA timers were never scheduled: " + _work_hint("task/created", task_id=task_id)
    if timer.failed_at is not None:
        return f"the {kind} timer failed on every attempt: see admin → Timers (re-arm it)"
    if timer.fired_at is None:
        return f"the {kind} timer did not fire: is Beat running (its sweep fires due timers) and a worker with it?"
    return f"the {kind} timer fired but its message is not out: see admin → Notification logs"


def _error_summary(response: requests.Response) -> str:
    """The API's error code and the names of the bad fields (docs/api.md#errors-one-format); its messages never
    quote values, but field names are all a person needs here."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return "(not JSON)"
    fields = ", ".join(error.get("fields", {}))
    return f"{error.get('code', '')}" + (f" (fields: {fields})" if fields else "")


def _facility() -> str:
    """The episode's facility: the first of CARE_FACILITIES, a code the server accepts when it reads the same
    settings (its .env), as the demo's database must be the server's too."""
    return next(iter(settings.CARE_FACILITIES))


def _afternoon_zone(now: dt.datetime) -> str:
    """The zone among PATIENT_ZONES where the local time now is closest to 14:00."""

    def distance(zone: str) -> float:
        local = now.astimezone(zoneinfo.ZoneInfo(zone))
        hours = local.hour + local.minute / 60
        return min(abs(hours - 14), 24 - abs(hours - 14))

    return min(PATIENT_ZONES, key=distance)
