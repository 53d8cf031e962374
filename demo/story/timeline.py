"""The story's timeline: its steps in order, each printed as it happens, the ids it met, bounded waits for what the
server should do next, and the one-screen summary."""

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from django.utils import timezone

T = TypeVar("T")

# The steps, by the names the timeline prints, and the two stories they make.
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


class Timeline:
    """Steps printed through `out` as they happen, timed from the start, and waits that poll every `poll_interval`."""

    def __init__(self, *, out: Callable[[str], None], poll_interval: float) -> None:
        self.out = out
        self.poll_interval = poll_interval
        self.result = DemoResult()
        self.started = time.monotonic()
        self.started_at = timezone.now()

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

    def step(self, name: str, detail: str) -> None:
        step = Step(name=name, at=self.elapsed(), detail=detail)
        self.result.steps.append(step)
        self.out(step.line())

    def ids(self, what: str, value: str) -> None:
        self.result.ids.append((what, value))

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def since_start(self, moment: dt.datetime) -> float:
        return (moment - self.started_at).total_seconds()
