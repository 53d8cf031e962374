"""The workflows end to end on a real Celery worker, Beat, PostgreSQL and Redis; only Twilio's HTTP API is fake."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from care_events.models import OutreachAttempt
from care_events.platform.bus.models import Event, HandlerRun
from care_events.services.episodes import episode_discharge
from care_events.services.interactions import interaction_response_record, interaction_start
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask
from tasks_app.services.tasks import task_resolve
from tests.care_events.factories import EpisodeFactory
from tests.tasks_app.factories import EscalationTaskFactory, NurseShiftFactory
from tests.worker import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def names(**filters) -> list[str]:
    return list(Event.objects.filter(**filters).order_by("created_at").values_list("name", flat=True))


def test_discharge_to_checkin_to_escalation_to_assigned_nurse_sms(worker):
    nurse = NurseShiftFactory().nurse
    episode = EpisodeFactory(discharged_at=None)
    patient = episode.patient

    episode_discharge(episode=episode)

    # CHECKIN_DELAY is 3 s on the worker: the check-in SMS goes through Twilio's API to the patient.
    checkin = wait_until(
        lambda: NotificationLog.objects.filter(type="CHECKIN", status="SENT").first(), what="the check-in SMS"
    )
    sent = {r.form["To"]: r for r in worker.twilio.requests}
    assert checkin.provider == "twilio" and checkin.provider_message_id == sent[patient.phone].sid
    assert "How are you feeling" in sent[patient.phone].form["Body"]
    attempt = OutreachAttempt.objects.get(plan__episode=episode)

    interaction = interaction_start(episode=episode, outreach_attempt=attempt)
    interaction_response_record(
        interaction=interaction,
        text="I gained 4 pounds since yesterday",
        severity="HIGH",
        reason_codes=["HF_WEIGHT_GAIN"],
    )

    task = wait_until(
        lambda: EscalationTask.objects.filter(episode=episode, status="ASSIGNED").first(), what="the assigned task"
    )
    assert (task.assigned_to_id, task.severity, task.sla_minutes) == (nurse.pk, "HIGH", 120)
    log = wait_until(
        lambda: NotificationLog.objects.filter(type="TASK_ASSIGNED", task=task, status="SENT").first(),
        what="the nurse's SMS",
    )
    nurse_sms = worker.twilio.wait_for_requests(2)[-1]
    assert (nurse_sms.form["To"], log.provider_message_id) == (nurse.phone, nurse_sms.sid)
    assert patient.last_name not in nurse_sms.form["Body"]

    wait_until(lambda: not HandlerRun.objects.exclude(status="SUCCEEDED").exists(), what="every run to finish")
    expected = [
        "patient/discharged",
        "checkin/scheduled",
        "notification/send",
        "checkin/sent",
        "notification/delivered",
        "interaction/response_received",
        "task/created",
        "interaction/escalated",
        "task/assigned",
        "notification/send",
        "notification/delivered",
    ]
    assert sorted(names()) == sorted(expected)
    handlers = sorted(HandlerRun.objects.values_list("handler", flat=True))
    # monitor-sla and send-notification are inline (in the emitting transaction): no runs.
    assert handlers == sorted(["schedule-checkin", "webhook-checkin-sent", "handle-checkin-response", "assign-task"])
    assert HandlerRun.objects.filter(status="SUCCEEDED", attempts=1).count() == len(handlers)
    assert len(worker.twilio.requests) == 2  # one check-in, one nurse SMS: nothing twice


def test_a_short_sla_warns_once_and_breaches_once_on_time_and_a_resolved_task_gets_neither(worker):
    nurse = NurseShiftFactory().nurse
    now = timezone.now()
    watched = EscalationTaskFactory(
        sla_warning_at=now + dt.timedelta(seconds=3), sla_breach_at=now + dt.timedelta(seconds=5)
    )
    resolved = EscalationTaskFactory(
        sla_warning_at=now + dt.timedelta(seconds=3), sla_breach_at=now + dt.timedelta(seconds=5)
    )
    wait_until(lambda: EscalationTask.objects.filter(pk=resolved.pk, status="ASSIGNED").exists(), what="assignment")
    task_resolve(task=resolved, resolution="Handled at once")

    breach_log = wait_until(
        lambda: NotificationLog.objects.filter(type="SLA_BREACH", task=watched, status="SENT").first(),
        what="the breach SMS",
    )
    warning = Event.objects.get(name="task/sla_warning")
    breach = Event.objects.get(name="task/sla_breach")
    assert warning.data == {"task_id": str(watched.pk)} and breach.data == {"task_id": str(watched.pk)}
    # On time: not before the deadline, and within the fast path's latency (well under the 1 s sweep + slack).
    assert watched.sla_warning_at <= warning.created_at < watched.sla_warning_at + dt.timedelta(seconds=3)
    assert watched.sla_breach_at <= breach.created_at < watched.sla_breach_at + dt.timedelta(seconds=3)
    assert breach_log.recipient_nurse_id == nurse.pk
    wait_until(lambda: NotificationLog.objects.filter(type="SLA_WARNING", status="SENT").exists(), what="warning SMS")

    time.sleep(2)  # give a duplicate every chance to appear
    assert names(name__startswith="task/sla_") == ["task/sla_warning", "task/sla_breach"]
    assert NotificationLog.objects.filter(task=resolved, type__in=["SLA_WARNING", "SLA_BREACH"]).count() == 0
    assert NotificationLog.objects.filter(task=watched, type__in=["SLA_WARNING", "SLA_BREACH"]).count() == 2


def test_an_unanswered_checkin_makes_one_call_task_and_an_answered_one_none(worker):
    NurseShiftFactory()
    silent = EpisodeFactory(discharged_at=None)
    answering = EpisodeFactory(discharged_at=None)
    episode_discharge(episode=silent)
    episode_discharge(episode=answering)

    attempt = wait_until(
        lambda: OutreachAttempt.objects.filter(plan__episode=answering, status="SENT").first(), what="check-in"
    )
    interaction = interaction_start(episode=answering, outreach_attempt=attempt)
    interaction_response_record(interaction=interaction, text="I am fine", severity="LOW", reason_codes=[])

    task = wait_until(
        lambda: EscalationTask.objects.filter(episode=silent, status="ASSIGNED").first(),
        timeout=40,
        what="the call task",
    )
    assert (task.action_type, task.reason_codes) == ("CALL_PATIENT_NO_ANSWER", ["CHECKIN_NO_ANSWER"])
    time.sleep(7)  # past the answering patient's window too
    assert EscalationTask.objects.filter(episode=silent).count() == 1
    assert not EscalationTask.objects.filter(episode=answering).exists()
    assert names(name="checkin/no_answer") == ["checkin/no_answer"]
