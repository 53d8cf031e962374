"""A poison event for chaos: a handler that always raises, on an event the product emits only on a patient's own
text (interaction/patient_replied), which the chaos stream never sends. Registered in the chaos process (which
emits the event, so its run row exists) and in the lab's workers (CHAOS_POISON=1, bench/app.py); and the watch of
its attempts' spacing."""

import itertools
import threading
import time

from care_events.platform.bus.dispatch import Payload, subscribe
from care_events.platform.bus.retry import BASE_SECONDS, HANDLER_RUNS

POISON_EVENT = "interaction/patient_replied"
POISON_HANDLER = "chaos-poison"


class PoisonError(RuntimeError):
    pass


@subscribe(POISON_EVENT, name=POISON_HANDLER)
def poison(payload: Payload) -> None:
    raise PoisonError("chaos: this handler always fails")


class AttemptWatch:
    """When each attempt of the poison events' runs (the poison's, and the product's handler of the event, which
    fails on their made-up ids) was recorded (their `attempts` column, looked at every 0.1 s from a
    thread), so that their spacing can be held against HANDLER_RUNS' backoff: one retry chain per run, whatever the
    backlog (a relay's re-publish and a late retry message never both run an attempt)."""

    def __init__(self) -> None:
        self.seen: dict[int, list[tuple[int, float]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> "AttemptWatch":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        from django.db import connection

        from care_events.platform.bus.models import HandlerRun

        try:
            while not self._stop.wait(0.1):
                now = time.monotonic()
                runs = HandlerRun.objects.filter(event__name=POISON_EVENT)
                for run_id, attempts in runs.values_list("pk", "attempts"):
                    seen = self.seen.setdefault(run_id, [(0, now)])
                    if attempts != seen[-1][0]:
                        seen.append((attempts, now))
        finally:
            connection.close()

    def gaps(self) -> list[tuple[int, int, float, float]]:
        """(run, attempts before, seconds to the next look that saw more, the policy's minimum wait after them),
        the first attempt's own wait apart; a jump of two attempts in one look counts as a gap of 0 s."""
        found = []
        for run_id, seen in self.seen.items():
            for (before, at), (after, then) in itertools.pairwise(seen[1:]):
                minimum = min(HANDLER_RUNS.cap_seconds, BASE_SECONDS * 2 ** (before - 1)) / 2
                found.append((run_id, before, 0.0 if after > before + 1 else then - at, minimum))
        return found

    def too_close(self) -> list[tuple[int, int, float, float]]:
        # 0.3 s: three looks of slack for when an attempt was seen.
        return [gap for gap in self.gaps() if gap[2] < gap[3] - 0.3]

    def spacing(self) -> str:
        gaps = self.gaps()
        if not gaps:
            return "no retry seen"
        shortest = min(gaps, key=lambda gap: gap[2] / gap[3])
        attempts = {run_id: seen[-1][0] for run_id, seen in self.seen.items()}
        return (
            f"{len(gaps)} gaps between retries, {len(self.too_close())} shorter than the policy allows; the "
            f"shortest against its minimum: {shortest[2]:.1f} s after attempt {shortest[1]} (minimum "
            f"{shortest[3]:.0f} s); attempts per run {sorted(attempts.values())}"
        )
