"""tasks_app's subscriptions: the seed's assign-task, monitor-sla and handle-checkin-response, plus the
no-answer call task and the SLA notifications."""

from care_events.events import URGENT, subscribe
from care_events.models import Episode, Event, InteractionResponse, Severity, Timer, TimerKind
from care_events.services import interaction_escalate
from care_events.timers import timer_handler
from tasks_app.models import ActionType
from tasks_app.services import sla_notify, sla_stage_reached, sla_timers_schedule, task_assign, task_create


@subscribe("task/created", name="assign-task", queue=URGENT)
def assign_task(event: Event) -> None:
    task_assign(task_id=event.data["task_id"])


@subscribe("task/created", name="monitor-sla")
def monitor_sla(event: Event) -> None:
    sla_timers_schedule(task_id=event.data["task_id"])


@timer_handler(TimerKind.SLA_WARNING)
@timer_handler(TimerKind.SLA_BREACH)
def sla_timer_fired(timer: Timer) -> None:
    sla_stage_reached(timer=timer)


@subscribe("task/sla_warning", name="notify-sla-warning")
@subscribe("task/sla_breach", name="notify-sla-breach", queue=URGENT)
def notify_sla(event: Event) -> None:
    sla_notify(event=event)


@subscribe("interaction/response_received", name="handle-checkin-response", queue=URGENT)
def handle_checkin_response(event: Event) -> None:
    """MODERATE, HIGH or CRITICAL escalates: one task per response (its source key), then the event."""
    if not Severity.escalates(event.data["severity"]):
        return
    response = InteractionResponse.objects.select_related("interaction__episode").get(pk=event.data["response_id"])
    interaction = response.interaction
    task = task_create(
        episode=interaction.episode,
        severity=response.severity,
        reason_codes=response.reason_codes,
        interaction=interaction,
        source_key=f"response:{response.pk}",
    )
    interaction_escalate(
        interaction_id=interaction.pk, task_id=task.pk, severity=response.severity, response_id=response.pk
    )


@subscribe("checkin/no_answer", name="call-unreached-patient")
def call_unreached_patient(event: Event) -> None:
    """No answer in the window (or no SMS allowed): a nurse calls. MODERATE, so within 8 hours."""
    reason = event.data["reason"]
    task_create(
        episode=Episode.objects.get(pk=event.data["episode_id"]),
        severity=Severity.MODERATE,
        reason_codes=["CHECKIN_NO_ANSWER" if reason == "NO_RESPONSE" else "SMS_OPT_OUT"],
        action_type=ActionType.CALL_PATIENT_NO_ANSWER,
        source_key=f"no-answer:{event.data.get('outreach_attempt_id') or event.data['episode_id']}",
    )
