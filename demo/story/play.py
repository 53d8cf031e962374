"""The story's steps, played against a running server (`manage.py demo`).

The demo plays the interaction agent through the REST API of a running server (`requests`, the agent's token): a
patient, an episode, the discharge; then it waits for the check-in SMS, answers it with a worrying (HIGH) response
and watches the rest happen by polling the database the server writes to: the escalation, the task, its
assignment to a nurse on shift, the nurse's message, and either a one-minute SLA (a flag the demo makes itself:
the agent cannot choose an SLA) warned and breached, or (`resolve=True`) the task resolved by its nurse through the
API with its SLA timers cancelled. Every wait is bounded; a step that does not happen stops the story with what was
expected and a hint.

It prints ids, event names and message types, never a patient's details (the made-up name once, at admission).
"""

import datetime as dt
import uuid
from collections.abc import Callable

from django.utils import timezone

from care_events.choices import NotificationType
from care_events.models import AgentInteraction, Episode, OutreachAttempt, Patient
from care_events.platform.bus.models import Event, Timer, TimerKind
from demo.story.accounts import DemoAccounts
from demo.story.agent import AgentClient
from demo.story.hints import (
    OUT_STATUSES,
    SAME_DB_HINT,
    assignment_hint,
    checkin_hint,
    out_or_raise,
    server_env_hint,
    timer_hint,
    work_hint,
)
from demo.story.script import (
    ANSWER,
    FLAG_ACTION,
    FLAG_REASON_CODES,
    FLAG_SEVERITY,
    FLAG_SLA_MINUTES,
    PATIENT,
    afternoon_zone,
    facility,
    unused_phone,
)
from demo.story.timeline import (
    ADMISSION,
    ANSWERED,
    ASSIGNMENT,
    CHECKIN,
    DISCHARGE,
    ESCALATION,
    FLAG_RAISED,
    NURSE_MESSAGE,
    RESOLUTION,
    SLA_BREACH,
    SLA_WARNING,
    DemoResult,
    StepFailedError,
    Timeline,
)
from notifications.models import NotificationLog
from tasks_app.models import OPEN_TASK_STATUSES, EscalationTask
from tasks_app.services.tasks import task_create


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


class _Story(Timeline):
    """The steps of the story, each printed on the timeline as it happens (see `demo_story_play`)."""

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
        super().__init__(out=out, poll_interval=poll_interval)
        self.agent = AgentClient(base_url=base_url, agent_token=accounts.agent_token, checkin_delay=checkin_delay)
        self.accounts = accounts
        self.step_timeout = step_timeout
        self.checkin_delay = checkin_delay
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
        zone = afternoon_zone(timezone.now())
        phone = unused_phone()
        patient = self.agent.post(ADMISSION, "patients/", {**PATIENT, "phone": phone, "timezone": zone}, expect=201)
        # The server answered with a token this process just wrote: it reads the same database. Check the other
        # way round too, since the rest of the story is watched from here.
        if not Patient.objects.filter(pk=patient["id"]).exists():
            raise StepFailedError(ADMISSION, "the server created a patient this command cannot see", SAME_DB_HINT)
        admitted_at = (timezone.now() - dt.timedelta(days=4)).isoformat()
        episode = self.agent.post(
            ADMISSION,
            "episodes/",
            {"patient_id": patient["id"], "admitted_at": admitted_at, "condition": "HF", "facility": facility()},
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
        self.agent.post(DISCHARGE, f"episodes/{episode_id}/discharge/", {}, expect=202)
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
            return out_or_raise(CHECKIN, log)

        log = self.wait(
            CHECKIN,
            "the check-in SMS",
            sent,
            timeout=timeout,
            hint=lambda: checkin_hint(episode_id, started_at=self.started_at, checkin_delay=self.checkin_delay),
        )
        self.ids("check-in message", str(log.pk))
        self.step(CHECKIN, f"notification {log.pk} {log.type} via {log.channel} to the patient: {log.status}")
        attempt = OutreachAttempt.objects.filter(plan__episode_id=episode_id).order_by("-attempt_number").first()
        if attempt is None:  # written in the transaction that asked for the SMS: cannot be missing
            raise StepFailedError(CHECKIN, "the check-in SMS has no outreach attempt", "see admin → Outreach attempts")
        return str(attempt.pk)

    def answer(self, episode_id: str, attempt_id: str) -> str:
        interaction = self.agent.post(
            ANSWERED, "interactions/", {"episode_id": episode_id, "outreach_attempt_id": attempt_id}, expect=201
        )
        self.interaction_id = interaction["id"]
        response = self.agent.post(ANSWERED, f"interactions/{interaction['id']}/responses/", ANSWER, expect=201)
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
            hint=lambda: work_hint("interaction/response_received", response_id=response_id),
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
            hint=lambda: assignment_hint(task_id),
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
            return out_or_raise(NURSE_MESSAGE, log) if log is not None else None

        log = self.wait(
            NURSE_MESSAGE,
            "the nurse's TASK_ASSIGNED message",
            sent,
            timeout=self.step_timeout,
            hint=lambda: work_hint("notification/send", task_id=task_id, notification_type="TASK_ASSIGNED"),
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
                out_or_raise(step, log)
            if event is None or not logs or any(log.status not in OUT_STATUSES for log in logs):
                return None
            return event, logs

        event, logs = self.wait(
            step,
            f"{event_name} and its {message} messages",
            reached,
            timeout=max(0.0, (due_at - timezone.now()).total_seconds()) + self.step_timeout,
            hint=lambda: timer_hint(task_id, kind),
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
        # The timers are written by monitor-sla, inline, with the task: resolving before they exist would show
        # nothing being cancelled.
        self.wait(
            RESOLUTION,
            "the task's SLA timers",
            lambda: Timer.objects.filter(subject_id=task_id, kind__in=sla).count() == len(sla),
            timeout=self.step_timeout,
            hint=lambda: work_hint("task/created", task_id=task_id),
        )
        resolution = {"resolution": "Called the patient; diuretic adjusted with cardiology (demo)."}
        task = self.agent.post(RESOLUTION, f"tasks/{task_id}/resolve/", resolution, expect=200, token=token)
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
            self.agent.post(
                "tidy-up", f"interactions/{self.interaction_id}/complete/", {"outcome": "ESCALATED_TO_NURSE"}
            )
            resolved = []
            for task in EscalationTask.objects.filter(pk__in=self.tasks, status__in=OPEN_TASK_STATUSES):
                token = self.accounts.nurse_tokens.get(task.assigned_to_id or 0)
                if token is None:
                    self.result.notes.append(f"tidy-up: task {task.pk} left open (not held by a demo nurse)")
                    continue
                body = {"resolution": "Demo over."}
                self.agent.post("tidy-up", f"tasks/{task.pk}/resolve/", body, expect=200, token=token)
                resolved.append(str(task.pk))
        except StepFailedError as failure:
            self.result.notes.append(f"tidy-up incomplete: {failure.reason}")
            return
        resolved_note = f"; resolved the open tasks {', '.join(resolved)}" if resolved else ""
        self.result.notes.append(f"tidy-up: check-in completed (checkin/completed){resolved_note}")

    def nurse_label(self, nurse_id: int | None) -> str:
        return f"nurse {nurse_id}" + (" (supervisor)" if nurse_id == self.accounts.supervisor_id else "")
