"""tasks_app's subscriptions to events and timers: one-line adapters from the bus to a service.

The seed's assign-task, monitor-sla (inline: in the creating transaction) and handle-checkin-response, plus the
call task for an unanswered check-in.
Found through the registries (imported in TasksAppConfig.ready()); the whole table is in docs/events.md.
"""

import datetime as dt
import uuid

from care_events.platform.bus.catalogue import URGENT
from care_events.platform.bus.dispatch import Payload, Rows, subscribe
from care_events.platform.bus.models import TimerKind
from care_events.platform.bus.timers import timer_handler
from tasks_app.services.acknowledgement import ack_reminder_send
from tasks_app.services.assignment import task_assign
from tasks_app.services.escalation import response_escalate, unreached_patient_task_create
from tasks_app.services.handover import ack_escalation_reach
from tasks_app.services.replies import reply_review_task_create
from tasks_app.services.sla import sla_stage_reach, sla_timers_schedule


@subscribe("task/created", name="assign-task", queue=URGENT)
def assign_task(payload: Payload) -> None:
    task_assign(task_id=payload["task_id"])


# Inline: the SLA timers are rows written in the transaction that creates the task (no message of their own).
@subscribe("task/created", name="monitor-sla", inline=True)
def monitor_sla(payload: Payload, rows: Rows) -> None:
    sla_timers_schedule(task_id=payload["task_id"], task=rows.get("task_id"))


@timer_handler(TimerKind.SLA_WARNING)
def sla_warning_due(task_id: uuid.UUID, due_at: dt.datetime) -> None:
    sla_stage_reach(task_id=task_id, stage=TimerKind.SLA_WARNING)


@timer_handler(TimerKind.SLA_BREACH, queue=URGENT)
def sla_breach_due(task_id: uuid.UUID, due_at: dt.datetime) -> None:
    sla_stage_reach(task_id=task_id, stage=TimerKind.SLA_BREACH)


@subscribe("interaction/response_received", name="handle-checkin-response", queue=URGENT)
def handle_checkin_response(payload: Payload) -> None:
    response_escalate(response_id=payload["response_id"])


@subscribe("checkin/no_answer", name="call-unreached-patient")
def call_unreached_patient(payload: Payload) -> None:
    unreached_patient_task_create(**payload)


@timer_handler(TimerKind.REPLY_REVIEW, queue=URGENT)
def reply_review_due(message_id: uuid.UUID, due_at: dt.datetime) -> None:
    reply_review_task_create(message_id=message_id)


@timer_handler(TimerKind.ACK_REMINDER, queue=URGENT)
def ack_reminder_due(task_id: uuid.UUID, due_at: dt.datetime) -> None:
    ack_reminder_send(task_id=task_id)


@timer_handler(TimerKind.ACK_ESCALATION, queue=URGENT)
def ack_escalation_due(task_id: uuid.UUID, due_at: dt.datetime) -> None:
    ack_escalation_reach(task_id=task_id)
