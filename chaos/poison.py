"""A poison event for chaos: a handler that always raises, on an event the product emits only on a patient's own
text (interaction/patient_replied), which the chaos stream never sends. Registered in the chaos process (which
emits the event, so its run row exists) and in the lab's workers (CHAOS_POISON=1, bench/app.py)."""

from care_events.platform.bus.dispatch import Payload, subscribe

POISON_EVENT = "interaction/patient_replied"
POISON_HANDLER = "chaos-poison"


class PoisonError(RuntimeError):
    pass


@subscribe(POISON_EVENT, name=POISON_HANDLER)
def poison(payload: Payload) -> None:
    raise PoisonError("chaos: this handler always fails")
