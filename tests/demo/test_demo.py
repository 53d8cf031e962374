"""manage.py demo against real parts: the REST API served over HTTP by a real server (pytest-django's live_server, in
a thread), real Celery worker processes and Beat (tests/worker.py) on the same test database and Redis; only
Twilio's HTTP API is fake. The story runs with the workers' short check-in delay (3 s)."""

import datetime as dt
import re

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from care_events.models import Patient
from care_events.platform.api_clients.models import ApiToken
from care_events.platform.bus.models import Event, Timer
from care_events.platform.roles import AGENT
from demo.story import (
    BREACH_STORY,
    CHECKIN,
    FLAG_RAISED,
    RESOLUTION,
    RESOLVE_STORY,
    SLA_BREACH,
    SLA_WARNING,
    DemoResult,
    demo_accounts_ensure,
    demo_story_play,
    demo_summary,
)
from notifications.models import NotificationLog
from tasks_app.models import EscalationTask, Nurse, NurseShift
from tests.worker import WORKER_SETTINGS

CHECKIN_DELAY = float(WORKER_SETTINGS["CHECKIN_DELAY"])


def play(url: str, *, resolve: bool, step_timeout: float = 30) -> tuple[DemoResult, list[str]]:
    timeline: list[str] = []
    result = demo_story_play(
        base_url=url,
        accounts=demo_accounts_ensure(),
        resolve=resolve,
        step_timeout=step_timeout,
        checkin_delay=CHECKIN_DELAY,
        out=timeline.append,
        poll_interval=0.1,
    )
    return result, timeline


def at(result: DemoResult, name: str) -> float:
    return next(step.at for step in result.steps if step.name == name)


def assert_no_phi(timeline: list[str]) -> None:
    text = "\n".join(timeline)
    patient = Patient.objects.get()
    assert patient.phone not in text and "ankles" not in text and patient.date_of_birth.isoformat() not in text
    assert text.count(patient.last_name) == 1  # the made-up name, once, at admission


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_story_plays_through_the_api_and_a_one_minute_sla_is_warned_then_breached(worker, live_server):
    result, timeline = play(live_server.url, resolve=False)

    assert result.completed, demo_summary(result, base_url=live_server.url) + "\n" + worker.logs()
    assert [step.name for step in result.steps] == list(BREACH_STORY)
    assert [line.split(" s  ", 1)[1].split("  ")[0].strip() for line in timeline] == list(BREACH_STORY)
    assert all(re.match(r"^\s*\d+\.\d s  ", line) for line in timeline)
    # On time: the flag's SLA is 1 minute, so its warning at 45 s and its breach at 60 s, each once.
    flag = at(result, FLAG_RAISED)
    assert 44 < at(result, SLA_WARNING) - flag < 45 + 10
    assert 59 < at(result, SLA_BREACH) - flag < 60 + 10
    assert Event.objects.filter(name="task/sla_warning").count() == 1
    assert Event.objects.filter(name="task/sla_breach").count() == 1
    # The breach reached the supervisor as well as the assignee.
    supervisor = Nurse.objects.get(is_supervisor=True)
    assert NotificationLog.objects.filter(type="SLA_BREACH", recipient_nurse=supervisor, status="SENT").exists()
    # Two tasks (the HIGH answer's, the flag's), both assigned to demo nurses, resolved by them in the tidy-up.
    assert sorted(EscalationTask.objects.values_list("status", flat=True)) == ["RESOLVED", "RESOLVED"]
    assert Event.objects.filter(name="checkin/completed").count() == 1
    assert_no_phi(timeline)
    summary = demo_summary(result, base_url=live_server.url)
    assert summary.startswith("Story complete in") and "[--]" not in summary


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_resolve_the_nurse_resolves_the_task_through_the_api_and_its_sla_timers_are_cancelled(worker, live_server):
    result, timeline = play(live_server.url, resolve=True)

    assert result.completed, demo_summary(result, base_url=live_server.url) + "\n" + worker.logs()
    assert [step.name for step in result.steps] == list(RESOLVE_STORY)
    assert "timers cancelled" in timeline[-1] and timeline[-1].split(" s  ", 1)[1].startswith(RESOLUTION)
    task = EscalationTask.objects.get()
    assert (task.status, task.assigned_to.pk in Nurse.objects.values_list("pk", flat=True)) == ("RESOLVED", True)
    timers = Timer.objects.filter(subject_id=task.pk)
    assert sorted(timers.values_list("kind", flat=True)) == ["SLA_BREACH", "SLA_WARNING"]
    assert all(timer.cancelled_at is not None and timer.fired_at is None for timer in timers)
    assert not Event.objects.filter(name__startswith="task/sla_").exists()
    # The whole story in seconds with the workers' 3 s check-in delay.
    assert result.elapsed < 30
    assert_no_phi(timeline)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_checkin_that_does_not_come_in_time_stops_the_story_there_with_the_servers_settings_as_hint(
    worker, live_server
):
    # The workers' check-in comes after 3 s; a demo that expects it within 0.5 s stops at that step.
    timeline: list[str] = []
    result = demo_story_play(
        base_url=live_server.url,
        accounts=demo_accounts_ensure(),
        resolve=False,
        step_timeout=0.5,
        checkin_delay=0,
        out=timeline.append,
        poll_interval=0.1,
    )
    assert not result.completed
    assert result.failed_step == CHECKIN
    assert "CHECKIN_DELAY=" in result.hint or "worker" in result.hint
    assert [step.name for step in result.steps] == ["admission", "discharge"]
    assert 'Story stopped at "check-in SMS"' in demo_summary(result, base_url=live_server.url)


@pytest.mark.django_db
def test_the_command_exits_non_zero_naming_the_step_and_a_hint_when_no_server_answers():
    with pytest.raises(CommandError, match=r'stopped at "admission": no answer from http://127.0.0.1:9 .*Hint: start'):
        call_command("demo", "--url", "http://127.0.0.1:9", "--timeout", "1")


@pytest.mark.django_db
def test_the_demo_accounts_are_made_once_and_only_their_keys_change():
    first = demo_accounts_ensure()
    again = demo_accounts_ensure()

    nurses = Nurse.objects.order_by("pk")
    assert [nurse.is_supervisor for nurse in nurses] == [False, False, True]
    assert set(first.nurse_tokens) == set(again.nurse_tokens) == set(nurses.values_list("pk", flat=True))
    now = timezone.now()
    for nurse in nurses:
        assert nurse.shifts.count() == 1
        assert nurse.shifts.filter(starts_at__lte=now, ends_at__gt=now).exists()
        assert not nurse.user.has_usable_password()
    # Its own agent account (never the real agent's), in the agent group; a key per account, replaced each run
    # (the first run's keys are revoked).
    assert (
        ApiToken.objects.filter(revoked_at=None).count()
        == ApiToken.objects.filter(revoked_at__isnull=False).count()
        == 4
    )
    assert first.agent_token != again.agent_token
    agent = ApiToken.objects.exclude(user__nurse__isnull=False).filter(revoked_at=None).get().user
    assert agent.username == "demo-interaction-agent" and agent.groups.filter(name=AGENT).exists()


@pytest.mark.django_db
def test_a_new_demo_shift_never_overlaps_a_nurses_other_shifts():
    accounts = demo_accounts_ensure()
    nurse = Nurse.objects.get(pk=next(iter(accounts.nurse_tokens)))
    now = timezone.now()
    # Her shift ended ten minutes ago and the next one starts in two hours: the new one fits between them.
    nurse.shifts.all().delete()
    NurseShift.objects.create(
        nurse=nurse, starts_at=now - dt.timedelta(hours=8), ends_at=now - dt.timedelta(minutes=10)
    )
    NurseShift.objects.create(nurse=nurse, starts_at=now + dt.timedelta(hours=2), ends_at=now + dt.timedelta(hours=9))

    demo_accounts_ensure(now=now)

    current = nurse.shifts.get(starts_at__lte=now, ends_at__gt=now)
    assert (current.starts_at, current.ends_at) == (now - dt.timedelta(minutes=10), now + dt.timedelta(hours=2))
