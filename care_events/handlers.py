"""care_events' subscriptions to events and timers: one-line adapters from the bus to a service.

Found through the registries (imported in CareEventsConfig.ready()); the whole table of events, handlers and the
services they call is in docs/events.md.
"""

import datetime as dt
import uuid

from care_events.platform.bus.dispatch import Payload, subscribe
from care_events.platform.bus.models import TimerKind
from care_events.platform.bus.timers import timer_handler
from care_events.platform.webhooks.services import webhook_deliveries_create
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


# The agent's webhooks (docs/webhooks.md): each event by the ids its emitter keys it with (`emit(once_for=...)`).
@subscribe("interaction/patient_replied", name="webhook-patient-replied")
def webhook_patient_replied(payload: Payload) -> None:
    webhook_deliveries_create(name="interaction/patient_replied", once_for=(payload["message_id"],))


@subscribe("checkin/sent", name="webhook-checkin-sent")
def webhook_checkin_sent(payload: Payload) -> None:
    webhook_deliveries_create(name="checkin/sent", once_for=(payload["outreach_attempt_id"],))


@subscribe("checkin/no_answer", name="webhook-checkin-no-answer")
def webhook_checkin_no_answer(payload: Payload) -> None:
    webhook_deliveries_create(name="checkin/no_answer", once_for=(payload["outreach_attempt_id"],))
