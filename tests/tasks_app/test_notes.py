"""Notes and call attempts on an open task, structured resolution outcomes, a task's timeline, and a stale link's
words (tasks_app/services/notes.py, tasks_app/timeline.py, tasks_app/screens/task_actions.py)."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from care_events.platform.bus.models import Event
from care_events.platform.errors import ApplicationError
from care_events.platform.roles import CHARGE_NURSE, NURSE
from notifications.models import NotificationLog
from tasks_app.care_team import care_team_time, care_team_zone
from tasks_app.models import EscalationTask, ResolutionOutcome, TaskNote
from tasks_app.services.notes import task_note_add
from tasks_app.services.tasks import TaskStateError, task_acknowledge, task_create, task_reassign, task_resolve
from tasks_app.timeline import task_timeline
from tests.api.conftest import client_for as api_client_for
from tests.care_events.factories import EpisodeFactory
from tests.helpers import drain, force_admin_login
from tests.tasks_app.factories import assigned_task, nurse_with_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def nurse():
    return nurse_with_login(role=NURSE, user__first_name="Florence", user__last_name="Nightingale")


@pytest.fixture
def grace():
    return nurse_with_login(role=NURSE, user__first_name="Grace", user__last_name="Liu")


@pytest.fixture
def charge():
    return nurse_with_login(role=CHARGE_NURSE, user__first_name="Clara", user__last_name="Barton")


def url(action: str, task: EscalationTask) -> str:
    return reverse(f"admin:tasks_app_escalationtask_{action}", args=[task.pk])


def test_the_outcomes_are_seeded_and_a_task_resolved_with_one_is_counted(nurse):
    assert list(ResolutionOutcome.objects.values_list("code", flat=True)) == [
        "advice-given",
        "medication-change",
        "appointment-made",
        "referred-to-ed",
        "readmitted",
        "no-action-needed",
    ]
    advice = ResolutionOutcome.objects.get(code="advice-given")
    task_resolve(task=assigned_task(nurse), outcome=advice, actor=nurse.user)
    task_resolve(task=assigned_task(nurse, last_name="Okafor"), resolution="Called.", outcome=advice)
    assert advice.tasks.count() == 2  # reporting counts outcomes with one query


def test_resolving_needs_an_outcome_or_words_and_refuses_a_retired_outcome(nurse):
    task = assigned_task(nurse)
    with pytest.raises(ApplicationError):
        task_resolve(task=task, resolution="  ")
    retired = ResolutionOutcome.objects.create(code="old", label="Old outcome", is_active=False)
    with pytest.raises(ApplicationError):
        task_resolve(task=task, outcome=retired)
    task.refresh_from_db()
    assert task.status == "ASSIGNED" and task.resolution_outcome is None


def test_a_note_and_a_call_attempt_leave_the_task_open_and_a_closed_task_takes_none(nurse):
    task = assigned_task(nurse)
    retry = timezone.now() + dt.timedelta(hours=1)
    task_note_add(task=task, author=nurse.user, call_outcome="NO_ANSWER", retry_at=retry)
    task_note_add(task=task, author=nurse.user, text="Daughter says she is resting.")
    task.refresh_from_db()
    assert task.status == "ASSIGNED" and task.notes.count() == 2

    with pytest.raises(ApplicationError):
        task_note_add(task=task, author=nurse.user, text=" ")
    with pytest.raises(ApplicationError):
        task_note_add(task=task, author=nurse.user, text="x", retry_at=retry)  # a retry without a call
    task_resolve(task=task, resolution="Spoke with her.")
    with pytest.raises(TaskStateError):
        task_note_add(task=task, author=nurse.user, text="too late")
    assert TaskNote.objects.filter(task=task).count() == 2


def test_the_timeline_tells_the_story_in_words(nurse, grace, charge):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task = task_create(episode=EpisodeFactory(), severity="HIGH", reason_codes=["HF_EDEMA"], source_key=None)
        drain()  # assigned round-robin to one of the two nurses on shift, her message written
        task.refresh_from_db()
        first = task.assigned_to
        clock.shift(dt.timedelta(minutes=5))
        task_acknowledge(task=task, nurse=first, actor=first.user)
        clock.shift(dt.timedelta(minutes=5))
        task_note_add(task=task, author=first.user, call_outcome="LEFT_VOICEMAIL", retry_at=timezone.now())
        clock.shift(dt.timedelta(minutes=5))
        other = grace if first == nurse else nurse
        task_reassign(task=task, nurse=other, actor=charge.user)
        drain()
        clock.shift(dt.timedelta(minutes=5))
        task = EscalationTask.objects.get(pk=task.pk)
        task_resolve(
            task=task,
            outcome=ResolutionOutcome.objects.get(code="appointment-made"),
            resolution="Booked Tue.",
            actor=other.user,
        )

    entries = task_timeline(task=EscalationTask.objects.get(pk=task.pk))
    texts = [entry.text for entry in entries]
    assert texts[0] == "Created by the agent's flag during the conversation" or texts[0] == "Created"
    assert f"Assigned to {first} by round-robin" in texts
    assert f"Acknowledged for {first} by {first}" in texts
    call = [entry for entry in entries if entry.kind == "call"]
    assert [entry.text for entry in call] == [
        f"Call by {first}: left a voicemail, retry at {care_team_time(call[0].at):%H:%M}"
    ]
    assert f"Reassigned from {first} to {other} by Clara Barton (why: reassigned by staff)" in texts
    assert f"Resolved by {other}: Appointment made" in texts
    assert [entry.detail for entry in entries if entry.kind == "resolved"] == ["Booked Tue."]
    messages = [entry.text for entry in entries if entry.kind == "message"]
    assert messages and all(" to " in text for text in messages)
    assert NotificationLog.objects.filter(task=task).count() == len(messages)
    assert [entry.at for entry in entries] == sorted(entry.at for entry in entries)
    assert not any(entry.upcoming for entry in entries)  # resolved: nothing is due


def test_an_open_tasks_timeline_ends_with_what_is_due(nurse):
    task = task_create(episode=EpisodeFactory(), severity="HIGH", reason_codes=["HF_EDEMA"])
    drain()
    due = [entry.text for entry in task_timeline(task=EscalationTask.objects.get(pk=task.pk)) if entry.upcoming]
    assert due == ["Warning due (75 % of the SLA)", "Breach due (the SLA ends)"]


def test_the_task_page_shows_the_timeline_a_title_in_words_and_takes_a_note(nurse):
    task = assigned_task(nurse, first_name="Ada", last_name="Moreno")
    client = force_admin_login(Client(), nurse.user)
    page = client.get(url("change", task)).content.decode()
    assert "<title>Ada Moreno: Nurse callback within 2 h" in page
    assert "What happened" in page and "Created by the patient&#x27;s answer “My ankles are swollen” (High)" in page
    assert str(task.pk) not in page.split("<title>")[1].split("</title>")[0]
    crumbs = page.split('<div class="breadcrumbs">')[1].split("</div>")[0]
    assert "Ada Moreno: Nurse callback within 2 h" in crumbs and str(task.pk)[:8] not in crumbs

    response = client.post(
        url("note", task), {"call_outcome": "NO_ANSWER", "retry_at": "20:30", "text": "", "next": url("change", task)}
    )
    assert response.status_code == 302
    note = TaskNote.objects.get(task=task)
    assert note.call_outcome == "NO_ANSWER" and note.retry_at.astimezone(care_team_zone()).strftime("%H:%M") == "20:30"
    assert "Call by Florence Nightingale: no answer, retry at 20:30" in client.get(url("change", task)).content.decode()

    refused = client.post(url("note", task), {"call_outcome": "", "retry_at": "20:30", "text": ""})
    assert refused.status_code == 400 and "Write a note or choose how the call went." in refused.content.decode()
    assert TaskNote.objects.filter(task=task).count() == 1


def test_resolving_on_the_page_with_an_outcome_and_no_words(nurse):
    task = assigned_task(nurse)
    client = force_admin_login(Client(), nurse.user)
    outcome = ResolutionOutcome.objects.get(code="referred-to-ed")
    response = client.post(url("resolve", task), {"outcome": outcome.pk, "note": ""})
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.resolution_outcome, task.resolution) == ("RESOLVED", outcome, "")


def test_a_stale_link_says_whom_the_task_went_to_and_when(nurse, grace, charge):
    task = assigned_task(nurse)
    task_reassign(task=task, nurse=grace, actor=charge.user)
    drain()
    page = force_admin_login(Client(), nurse.user).get(url("change", task))
    words = page.content.decode()
    at = care_team_time(Event.objects.get(name="task/reassigned").created_at)
    assert page.status_code == 403
    assert f"This task was reassigned to Grace Liu at {at:%H:%M}. It is no longer yours." in words
    assert "Moreno" not in words


def test_a_page_not_for_her_role_is_said_in_words_with_a_way_back(nurse):
    page = force_admin_login(Client(), nurse.user).get(reverse("admin:tasks_app_escalationtask_board"))
    words = page.content.decode()
    assert page.status_code == 403
    assert "This page is not open to your role" in words and "“Care team board” is not part of your role." in words
    assert 'href="/">Back to your tasks</a>' in words


def test_the_api_resolves_with_an_outcome_and_shows_the_notes(nurse):
    task = assigned_task(nurse)
    task_note_add(task=task, author=nurse.user, call_outcome="SPOKE_WITH_PATIENT", text="Ankles better.")
    client = api_client_for(nurse.user)

    refused = client.post(f"/api/v1/tasks/{task.pk}/resolve/", {"outcome": "no-such-outcome"}, format="json")
    assert refused.status_code == 400 and "outcome" in refused.content.decode()
    empty = client.post(f"/api/v1/tasks/{task.pk}/resolve/", {}, format="json")
    assert empty.status_code == 400 and "resolution" in empty.content.decode()
    task.refresh_from_db()
    assert task.status == "ASSIGNED"

    resolved = client.post(f"/api/v1/tasks/{task.pk}/resolve/", {"outcome": "advice-given"}, format="json")
    assert resolved.status_code == 200
    body = resolved.json()
    assert body["outcome"] == "advice-given" and body["resolution"] == ""
    assert [(note["call_outcome"], note["text"], note["author"]) for note in body["notes"]] == [
        ("SPOKE_WITH_PATIENT", "Ankles better.", "Florence Nightingale")
    ]
