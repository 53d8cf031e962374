"""care_events' subscriptions to events and timers (found through the registries, imported in ready())."""

from care_events.events import subscribe
from care_events.models import Event, Timer, TimerKind
from care_events.services import checkin_no_answer, checkin_schedule, checkin_start
from care_events.timers import timer_handler


@subscribe("patient/discharged", name="schedule-checkin")
def schedule_checkin(event: Event) -> None:
    checkin_schedule(episode_id=event.data["episode_id"], discharged_at=event.created_at)


@timer_handler(TimerKind.CHECKIN_DUE)
def start_checkin(timer: Timer) -> None:
    checkin_start(timer=timer)


@timer_handler(TimerKind.CHECKIN_NO_ANSWER)
def checkin_window_over(timer: Timer) -> None:
    checkin_no_answer(timer=timer)
