"""Replay after an outage (manage.py replay, and admin's filtered Handler runs list): exactly the failed runs of one
event in a window are re-driven, once, and a replay never repeats an effect."""

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from care_events.platform.bus import dispatch
from care_events.platform.bus.dispatch import HandlerFailedError, emit, handler_run_execute
from care_events.platform.bus.models import HandlerRun, Timer
from care_events.platform.bus.retry import HANDLER_RUNS
from tasks_app.care_team import care_team_time
from tests.care_events.factories import EpisodeFactory
from tests.care_events.platform.bus.conftest import Published
from tests.tasks_app.factories import EscalationTaskFactory

pytestmark = pytest.mark.django_db


def provider_down(payload):
    raise RuntimeError("connection refused")


class RunIds(Sequence[int]):
    """The run ids of the handler-run messages captured so far, in publishing order."""

    def __init__(self, messages: list[Published]) -> None:
        self.messages = messages

    def ids(self) -> list[int]:
        return [message.args[0] for message in self.messages if message.task == "bus.handler_run"]

    def __getitem__(self, index):  # type: ignore[override]
        return self.ids()[index]

    def __len__(self) -> int:
        return len(self.ids())


@pytest.fixture
def published(published):
    """The run ids a re-drive publishes to the workers, captured on their way to the broker and taken off it
    afterwards (conftest.py); the test then runs them as a worker would (handler_run_execute), so it controls when
    and how often."""
    return RunIds(published)


@contextlib.contextmanager
def outage(*handler_names: str) -> Iterator[None]:
    """The named handlers fail on every attempt inside the block (as when what they call is down). They are swapped
    in the bus's registry, the way tests/care_events/platform/bus/test_dispatch.py injects a failing handler."""
    with pytest.MonkeyPatch.context() as patch:
        for name in handler_names:
            real = dispatch._handlers[name]
            patch.setitem(dispatch._handlers, name, dispatch.Handler(name, real.event_name, provider_down, real.queue))
        yield


def run_until_failed(run: HandlerRun) -> None:
    """Every attempt a run gets, all failing: it ends FAILED, as after an outage longer than its retries. Each
    attempt is made due first (a run is claimed only when its next attempt is), as its backoff's end would."""
    for _ in range(HANDLER_RUNS.max_attempts):
        HandlerRun.objects.filter(pk=run.pk).update(next_attempt_at=run.created_at)
        with pytest.raises(HandlerFailedError):
            handler_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "FAILED"


def replay(*args: str) -> str:
    out = StringIO()
    call_command("replay", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def after_an_outage():
    """Three tasks created while assign-task failed (one of them days before the window), and a discharge whose
    schedule-checkin failed too."""
    tasks = [EscalationTaskFactory() for _ in range(3)]
    episode = EpisodeFactory(discharged_at=None)
    emit("patient/discharged", {"episode_id": str(episode.pk)})
    with outage("assign-task", "schedule-checkin"):
        for run in HandlerRun.objects.filter(handler__in=["assign-task", "schedule-checkin"]):
            run_until_failed(run)
    early = HandlerRun.objects.get(handler="assign-task", event__data__task_id=str(tasks[0].pk))
    HandlerRun.objects.filter(pk=early.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    in_window = list(HandlerRun.objects.filter(handler="assign-task").exclude(pk=early.pk).order_by("created_at", "pk"))
    now = timezone.now()
    return {
        "tasks": tasks,
        "early": early,
        "in_window": in_window,
        "since": (now - dt.timedelta(hours=1)).isoformat(),
        "until": (now + dt.timedelta(minutes=1)).isoformat(),
    }


def test_replay_redrives_exactly_the_failed_runs_of_the_event_in_the_window_once(
    after_an_outage, published, django_capture_on_commit_callbacks
):
    window = ["--since", after_an_outage["since"], "--until", after_an_outage["until"]]
    expected = after_an_outage["in_window"]

    with django_capture_on_commit_callbacks(execute=True):
        out = replay("--event", "task/created", *window)

    assert sorted(published) == sorted(run.pk for run in expected)
    for run in expected:
        line = f"run {run.pk}  handler assign-task  event {run.event_id}  created {run.created_at.isoformat()}"
        assert line in out
    assert "Re-drove 2 of 2 failed run(s)" in out
    assert set(HandlerRun.objects.filter(pk__in=published).values_list("status", "attempts")) == {("PENDING", 0)}
    # Not in the window, not of the event, or not failed: untouched.
    assert HandlerRun.objects.get(pk=after_an_outage["early"].pk).status == "FAILED"
    assert HandlerRun.objects.get(handler="schedule-checkin").status == "FAILED"

    # The workers take the published runs; a duplicated message (a redelivery) finds its run claimed and done.
    for run_id in published:
        assert handler_run_execute(run_id=run_id) is True
        assert handler_run_execute(run_id=run_id) is False
    timers = Timer.objects.filter(subject_id__in=[task.pk for task in after_an_outage["tasks"][1:]])
    assert timers.count() == 4  # a warning and a breach per replayed task, once

    # Replaying the same window again re-drives nothing: the runs succeeded, and a succeeded run is never selected.
    with django_capture_on_commit_callbacks(execute=True):
        again = replay("--event", "task/created", *window)
    assert "No FAILED runs of task/created" in again
    assert sorted(published) == sorted(run.pk for run in expected)
    assert timers.count() == 4


def test_replaying_twice_before_the_workers_ran_redrives_once(
    after_an_outage, published, django_capture_on_commit_callbacks
):
    window = ["--since", after_an_outage["since"], "--until", after_an_outage["until"]]
    with django_capture_on_commit_callbacks(execute=True):
        replay("--event", "task/created", *window)
        second = replay("--event", "task/created", *window)
    # The first replay made them PENDING: the second finds no FAILED run, so each run was published once.
    assert "No FAILED runs" in second
    assert sorted(published) == sorted(run.pk for run in after_an_outage["in_window"])


def test_a_dry_run_prints_the_runs_and_changes_nothing(after_an_outage, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        out = replay(
            "--event",
            "task/created",
            "--since",
            after_an_outage["since"],
            "--until",
            after_an_outage["until"],
            "--dry-run",
        )
    for run in after_an_outage["in_window"]:
        assert f"run {run.pk}  handler assign-task" in out
    assert "Dry run: 2 FAILED run(s) would be re-driven; nothing changed." in out
    assert not published
    assert set(HandlerRun.objects.filter(handler="assign-task").values_list("status", flat=True)) == {"FAILED"}


def test_pending_runs_in_the_window_can_be_published_again_and_still_run_once(
    published, django_capture_on_commit_callbacks
):
    EscalationTaskFactory()  # its runs stay PENDING: their messages were lost with the broker, say
    since, until = timezone.now() - dt.timedelta(minutes=5), timezone.now() + dt.timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        out = replay(
            "--event", "task/created", "--status", "PENDING", "--since", since.isoformat(), "--until", until.isoformat()
        )
    runs = list(HandlerRun.objects.order_by("pk").values_list("pk", flat=True))
    assert sorted(published) == runs and "Published 1 pending run(s) again" in out
    for run_id in published:
        assert handler_run_execute(run_id=run_id) is True
        assert handler_run_execute(run_id=run_id) is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--event", "task/exploded"], "Unknown event 'task/exploded'. Allowed: checkin/completed"),
        (["--event", "task/created", "--status", "SUCCEEDED"], "invalid choice: 'SUCCEEDED'"),
        (["--event", "task/created", "--since", "2026-01-02", "--until", "2026-01-01"], "--since must be before"),
        (["--event", "task/created", "--since", "yesterday"], "argument --since: invalid moment value"),
    ],
)
def test_bad_arguments_are_clear_errors(args, message):
    defaults = {"--since": "2026-01-01T00:00:00Z", "--until": "2026-01-02T00:00:00Z"}
    for flag, value in defaults.items():
        if flag not in args:
            args = [*args, flag, value]
    with pytest.raises(CommandError, match=message):
        replay(*args)


def test_a_naive_window_is_utc_and_a_date_is_its_midnight(published):
    EscalationTaskFactory()
    HandlerRun.objects.update(status="FAILED")
    task_run = HandlerRun.objects.filter(handler="assign-task")
    HandlerRun.objects.update(created_at=dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC))
    assert "No FAILED runs" in replay("--event", "task/created", "--since", "2026-03-01", "--until", "2026-03-01T23:00")
    out = replay("--event", "task/created", "--since", "2026-03-01", "--until", "2026-03-02", "--dry-run")
    assert f"run {task_run.get().pk}  handler assign-task" in out


def test_admin_filters_the_same_runs_by_event_and_day_and_redrives_them(after_an_outage, admin_client):
    today = care_team_time(timezone.now())  # admin's days are the care team's (CARE_TEAM_TIME_ZONE)
    listed = admin_client.get(
        reverse("admin:care_events_handlerrun_changelist"),
        {
            "status__exact": "FAILED",
            "event__name": "task/created",
            "created_at__year": today.year,
            "created_at__month": today.month,
            "created_at__day": today.day,
        },
    )
    assert listed.status_code == 200
    selected = [run.pk for run in listed.context["cl"].result_list]
    assert sorted(selected) == sorted(run.pk for run in after_an_outage["in_window"])

    response = admin_client.post(
        reverse("admin:care_events_handlerrun_changelist"),
        {"action": "redrive", "_selected_action": selected},
        follow=True,
    )
    assert "2 failed run(s) queued again." in response.content.decode()
    assert set(HandlerRun.objects.filter(pk__in=selected).values_list("status", flat=True)) == {"PENDING"}
