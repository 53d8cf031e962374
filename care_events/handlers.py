"""care_events' subscriptions to events and timers: one-line adapters from the bus to a service.

Found through the registries (imported in CareEventsConfig.ready()); the whole table of events, handlers and the
services they call is in docs/events.md.
"""

import datetime as dt
import uuid

from care_events.platform.bus.dispatch import Payload, subscribe
from care_events.platform.bus.models import TimerKind
from care_events.platform.bus.timers import timer_handler
from care_events.services.checkin import checkin_no_answer, checkin_schedule, checkin_start


@subscribe("patient/discharged", name="schedule-checkin")
def schedule_checkin(payload: Payload) -> None:
    checkin_schedule(episode_id=payload["episode_id"])


@timer_handler(TimerKind.CHECKIN_DUE, countdown=True)
def start_checkin(episode_id: uuid.UUID, due_at: dt.datetime) -> None:
    checkin_start(episode_id=episode_id, scheduled_at=due_at)


@timer_handler(TimerKind.CHECKIN_NO_ANSWER, countdown=True)
def checkin_window_over(attempt_id: uuid.UUID, due_at: dt.datetime) -> None:
    checkin_no_answer(attempt_id=attempt_id)
