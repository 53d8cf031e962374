import datetime as dt
import uuid

import pytest
from django.db import transaction

from care_events.notify import notification_request
from care_events.platform.bus import dispatch
from care_events.platform.bus.catalogue import CATALOGUE
from care_events.platform.bus.dispatch import (
    EventPayloadError,
    HandlerFailedError,
    UnknownEventError,
    emit,
    emit_many,
    handler_run_execute,
    handler_runs_redrive,
)
from care_events.platform.bus.models import Event, HandlerRun, Timer
from care_events.platform.bus.retry import HANDLER_RUNS
from tests.care_events.factories import EpisodeFactory
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory

pytestmark = pytest.mark.django_db


def test_the_catalogue_has_the_twenty_two_events():
    # The seed's 18, the patient's own texts (interaction/patient_replied), checkin/sent, and the hand-overs
    # (docs/handover.md).
    assert set(CATALOGUE) == {
        "task/created",
        "task/assigned",
        "task/reassigned",
        "task/acknowledged",
        "task/resolved",
        "task/cancelled",
        "task/sla_warning",
        "task/sla_breach",
        "notification/send",
        "notification/delivered",
        "notification/failed",
        "notification/read",
        "patient/discharged",
        "checkin/scheduled",
        "checkin/sent",
        "checkin/completed",
        "checkin/no_answer",
        "interaction/response_received",
        "interaction/escalated",
        "interaction/patient_replied",
        "task/handed_back",
        "task/ack_escalated",
    }
    assert len(CATALOGUE) == 22


def test_an_unknown_event_name_is_a_clear_error_and_writes_nothing():
    with pytest.raises(UnknownEventError, match="Allowed: checkin/completed"):
        emit("task/exploded", {"task_id": "x"})
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("patient/discharged", {}, "episode_id"),
        ("patient/discharged", {"episode_id": "not-a-uuid"}, "episode_id"),
        ("task/assigned", {"task_id": "7b0c5a44-7d1b-4c0e-9b1e-2f7a3d1b9c11", "nurse_id": 1, "name": "Ada"}, "name"),
    ],
)
def test_an_invalid_payload_names_the_field_and_writes_nothing(name, data, field):
    with pytest.raises(EventPayloadError) as excinfo:
        emit(name, data)
    assert field in excinfo.value.errors
    assert field in str(excinfo.value)
    assert not Event.objects.exists()


def test_an_unknown_field_is_named_beside_a_bad_one_and_the_next_payload_is_read_afresh():
    """One schema instance reads every payload of its event: nothing of one read is left for the next."""
    with pytest.raises(EventPayloadError) as excinfo:
        emit("task/assigned", {"task_id": "not-a-uuid", "nurse_id": 1, "name": "Ada"})
    assert set(excinfo.value.errors) == {"task_id", "name"}
    task_id = uuid.uuid4()
    event = emit("task/assigned", {"task_id": task_id, "nurse_id": 2})
    assert event.data == {"task_id": str(task_id), "nurse_id": 2}


def test_emit_writes_the_event_and_one_run_per_handler_and_publishes_on_commit(django_capture_on_commit_callbacks):
    episode = EpisodeFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        event = emit("patient/discharged", {"episode_id": str(episode.pk)})
    assert event.data == {"episode_id": str(episode.pk)}
    assert list(event.runs.values_list("handler", flat=True)) == ["schedule-checkin"]
    assert len(callbacks) == 1


ID = uuid.UUID("7b0c5a44-7d1b-4c0e-9b1e-2f7a3d1b9c11")
AT = dt.datetime(2026, 1, 10, 8, 0, 0, 123456, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("name", "ids", "key"),
    [
        ("patient/discharged", (ID,), f"discharged:{ID}"),
        ("checkin/scheduled", (ID,), f"checkin-scheduled:{ID}"),
        ("checkin/sent", (ID,), f"checkin-sent:{ID}"),
        ("checkin/completed", (ID,), f"checkin-completed:{ID}"),
        ("checkin/no_answer", (ID,), f"no-answer:{ID}"),
        ("interaction/response_received", (ID,), f"response:{ID}"),
        ("interaction/escalated", (ID,), f"escalated:{ID}"),
        ("interaction/patient_replied", (ID,), f"patient-replied:{ID}"),
        ("task/created", (ID,), f"task-created:{ID}"),
        ("task/assigned", (ID, 7, AT), f"assigned:{ID}:7:2026-01-10T08:00:00.123456+00:00"),
        ("task/reassigned", (ID, 7, AT), f"assigned:{ID}:7:2026-01-10T08:00:00.123456+00:00"),
        ("task/acknowledged", (ID,), f"acknowledged:{ID}"),
        ("task/resolved", (ID,), f"resolved:{ID}"),
        ("task/cancelled", (ID,), f"cancelled:{ID}"),
        ("task/sla_warning", (ID,), f"task/sla_warning:{ID}"),
        ("task/sla_breach", (ID,), f"task/sla_breach:{ID}"),
        ("notification/send", (f"checkin:{ID}",), f"notify:checkin:{ID}"),
        ("notification/delivered", (ID,), f"delivered:{ID}"),
        ("notification/failed", (ID,), f"failed:{ID}"),
        ("notification/read", (ID,), f"read:{ID}"),
    ],
)
def test_an_event_key_keeps_the_value_stored_events_have(name, ids, key):
    # Events recorded by earlier versions carry these keys: a repeat of their fact must still find them.
    assert CATALOGUE[name].key(*ids) == key


def test_an_event_about_the_same_fact_again_returns_the_first_event_and_dispatches_nothing(
    django_capture_on_commit_callbacks,
):
    episode = EpisodeFactory()
    first = emit("patient/discharged", {"episode_id": str(episode.pk)}, once_for=(episode.pk,))
    with django_capture_on_commit_callbacks() as callbacks:
        again = emit("patient/discharged", {"episode_id": str(episode.pk)}, once_for=(episode.pk,))
    assert again.pk == first.pk
    assert callbacks == []
    assert HandlerRun.objects.filter(event__idempotency_key=f"discharged:{episode.pk}").count() == 1


def test_emit_many_validates_everything_before_writing_anything():
    episode = EpisodeFactory()
    with pytest.raises(EventPayloadError):
        emit_many([("patient/discharged", {"episode_id": str(episode.pk)}, ()), ("task/created", {}, ())])
    assert not Event.objects.exists()


def test_a_handler_run_succeeds_once_and_a_redelivery_finds_nothing_to_do():
    task = EscalationTaskFactory()  # its save emitted task/created
    # monitor-sla is inline: the SLA timers were written with the task, and it has no run.
    assert set(Timer.objects.filter(subject_id=task.pk).values_list("kind", flat=True)) == {"SLA_WARNING", "SLA_BREACH"}
    run = HandlerRun.objects.get(event__name="task/created")
    assert run.handler == "assign-task"
    assert handler_run_execute(run_id=run.pk) is True
    assert handler_run_execute(run_id=run.pk) is False
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("SUCCEEDED", 1)


def test_a_pending_run_whose_next_attempt_is_not_due_is_left_to_that_attempts_message():
    """A relay's copy of a run that its late retry message has just attempted: nothing runs until the next attempt
    is due (one retry chain per run); then it runs."""
    EscalationTaskFactory()
    run = HandlerRun.objects.get(event__name="task/created", handler="assign-task")
    later = run.created_at + dt.timedelta(hours=1)
    HandlerRun.objects.filter(pk=run.pk).update(attempts=2, next_attempt_at=later)

    assert handler_run_execute(run_id=run.pk) is False
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("PENDING", 2)

    HandlerRun.objects.filter(pk=run.pk).update(next_attempt_at=run.created_at)
    assert handler_run_execute(run_id=run.pk) is True
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("SUCCEEDED", 3)


def test_an_inline_handler_runs_in_the_emitting_transaction_and_rolls_back_with_it():
    with pytest.raises(RuntimeError), transaction.atomic():
        task = EscalationTaskFactory()
        assert Timer.objects.filter(subject_id=task.pk).count() == 2  # written by monitor-sla, inline, already
        raise RuntimeError("the creating transaction fails")
    assert not Timer.objects.exists() and not HandlerRun.objects.exists()


def test_a_failing_handler_is_retried_with_backoff_then_failed_and_can_be_redriven(monkeypatch):
    EscalationTaskFactory()
    run = HandlerRun.objects.get(event__name="task/created", handler="assign-task")

    def broken(payload):
        raise RuntimeError("database said no")

    # A subscriber that always fails, in place of assign-task for this test only: the bus's failure path is the
    # thing under test, and no real handler fails on demand.
    monkeypatch.setitem(
        dispatch._handlers, "assign-task", dispatch.Handler("assign-task", "task/created", broken, "urgent")
    )
    with pytest.raises(HandlerFailedError) as excinfo:
        handler_run_execute(run_id=run.pk)
    assert excinfo.value.retry_in is not None and excinfo.value.retry_in >= 1
    # What Celery, its logs and Flower see carries no error text (it can quote row values); admin has it.
    assert "database said no" not in str(excinfo.value)
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("PENDING", 1)
    # Admin has the error's class (and a safe code where it has one), never its text (issue 19 row 15).
    assert run.last_error == "RuntimeError"

    HandlerRun.objects.filter(pk=run.pk).update(attempts=HANDLER_RUNS.max_attempts - 1, next_attempt_at=run.created_at)
    with pytest.raises(HandlerFailedError) as excinfo:
        handler_run_execute(run_id=run.pk)
    assert excinfo.value.retry_in is None
    run.refresh_from_db()
    assert run.status == "FAILED"

    monkeypatch.undo()
    assert handler_runs_redrive(run_ids=[run.pk]) == 1
    assert handler_run_execute(run_id=run.pk) is True
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("SUCCEEDED", 1)


def test_a_discharge_event_for_an_episode_that_does_not_exist_is_refused():
    with pytest.raises(EventPayloadError) as excinfo:
        emit("patient/discharged", {"episode_id": "7b0c5a44-7d1b-4c0e-9b1e-2f7a3d1b9c11"})
    assert excinfo.value.errors == {"episode_id": ["No episode has this id."]}
    assert not Event.objects.exists()


def test_a_notification_of_an_unknown_type_is_refused_at_emit():
    nurse = NurseFactory()
    with pytest.raises(EventPayloadError) as excinfo:
        notification_request(notification_type="TASK_ASIGNED", recipient_nurse_id=nurse.pk, dedupe_key="typo")
    assert list(excinfo.value.errors) == ["notification_type"]
    assert not Event.objects.filter(name="notification/send").exists()
