"""The chaos suite's load: escalations and discharges streamed through the REST API at a steady rate, and the tasks
whose SLA stages come due inside the fault."""

import datetime as dt
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.lab import say
from chaos.lab import Lab


@dataclass(frozen=True)
class Size:
    seconds: float  # how long the stream lasts
    rate: float  # requests per second
    sla_tasks: int  # tasks whose SLA comes due inside the fault
    settle: float  # seconds the system gets to recover after the stream before the count


SHORT = Size(seconds=12, rate=4, sla_tasks=4, settle=90)
FULL = Size(seconds=40, rate=8, sla_tasks=20, settle=240)


@dataclass
class Accepted:
    kind: str  # "escalation" or "discharge"
    subject: str  # the response id, or the episode id
    at: float  # epoch seconds the API accepted it


class Stream:
    """Escalations and discharges through the REST API at a steady rate; each request retried with its
    Idempotency-Key until accepted (or `give_up_after` seconds after the stream's end)."""

    def __init__(self, lab: Lab, size: Size) -> None:
        self.lab, self.size = lab, size
        self.accepted: list[Accepted] = []
        self.errors: Counter[str] = Counter()
        self.never_accepted = 0
        self.slowest_answer = 0.0  # seconds: the longest any request waited for its answer (or its failure)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.interactions: list[str] = []
        self.episodes: list[str] = []

    def prepare(self) -> None:
        from tests.care_events.factories import AgentInteractionFactory, EpisodeFactory

        count = int(self.size.seconds * self.size.rate) + 1
        self.interactions = [str(AgentInteractionFactory().pk) for _ in range(count // 2 + 1)]
        self.episodes = [str(EpisodeFactory(discharged_at=None).pk) for _ in range(count // 2 + 1)]

    def start(self) -> "Stream":
        self._thread.start()
        return self

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        import requests

        if self.lab.netns is not None:
            self.lab.netns.enter()  # the API listens inside the lab's network namespace
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.lab.token}"
        count = int(self.size.seconds * self.size.rate)
        start = time.monotonic()
        for n in range(count):
            pause = start + n / self.size.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            if n % 2 == 0:
                interaction = self.interactions[n // 2]
                body = {"text": "My ankles are more swollen today.", "severity": "HIGH"}
                self._send(session, "escalation", f"/interactions/{interaction}/responses/", body)
            else:
                episode = self.episodes[n // 2]
                self._send(session, "discharge", f"/episodes/{episode}/discharge/", {}, subject=episode)

    def _send(self, session: Any, kind: str, path: str, body: dict[str, Any], subject: str = "") -> None:
        import requests

        key = str(uuid.uuid4())
        deadline = time.monotonic() + self.size.seconds + 60
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                answer = session.post(self.lab.api + path, json=body, headers={"Idempotency-Key": key}, timeout=60)
            except requests.RequestException as exc:
                self.slowest_answer = max(self.slowest_answer, time.monotonic() - started)
                self.errors[type(exc).__name__] += 1
                time.sleep(0.5)
                continue
            self.slowest_answer = max(self.slowest_answer, time.monotonic() - started)
            if answer.status_code in (200, 201, 202):
                self.accepted.append(Accepted(kind, subject or answer.json()["id"], time.time()))
                return
            self.errors[str(answer.status_code)] += 1
            if answer.status_code < 500 and answer.status_code != 429:
                say(f"    {kind} refused: {answer.status_code} {answer.text[:200]}")
                break
            time.sleep(float(answer.headers.get("Retry-After") or 0.5))
        self.never_accepted += 1


def sla_tasks(count: int, warning_in: float, breach_in: float) -> list[uuid.UUID]:
    """Tasks created now (task/created → assignment) whose SLA warning and breach come due in the fault."""
    from django.utils import timezone

    from tests.tasks_app.factories import EscalationTaskFactory

    now = timezone.now()
    return [
        EscalationTaskFactory(
            sla_warning_at=now + dt.timedelta(seconds=warning_in), sla_breach_at=now + dt.timedelta(seconds=breach_in)
        ).pk
        for _ in range(count)
    ]
