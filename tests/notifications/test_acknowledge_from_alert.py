"""A nurse acknowledges from her alert (docs/handover.md#acknowledge-from-the-alert): an SMS reply "ACK <code>" or
"1" from her phone, or the push alert's button; from any other phone nothing is acknowledged and the answer says
nothing about any task."""

import json

import pytest
from django.test import override_settings
from django.utils import timezone

from care_events.choices import NotificationType
from care_events.notify import notification_request
from care_events.platform.bus.models import Event
from notifications.backends import local
from notifications.messages import push_actions
from notifications.models import InboundMessage, NotificationLog
from tasks_app.models import EscalationTask
from tasks_app.notify import assignment_key
from tasks_app.services.tasks import task_reassign
from tests.care_events.factories import PatientFactory
from tests.helpers import drain
from tests.notifications.test_push import Browser, mocked, vapid  # noqa: F401 - the fixtures
from tests.notifications.test_webhooks import INBOUND, PUBLIC_BASE_URL, TOKEN, post, sms, twiml_messages
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory, NurseShiftFactory

pytestmark = pytest.mark.django_db

ACK_URL = "/alerts/acknowledge/"


@pytest.fixture(autouse=True)
def _twilio_settings():
    local.clear_outbox()
    with override_settings(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=PUBLIC_BASE_URL):
        yield


@pytest.fixture
def nurse():
    return NurseShiftFactory(nurse__phone="+14155550111", nurse__max_open_tasks=20).nurse


def assigned(nurse, count=1) -> list[EscalationTask]:
    tasks = [EscalationTaskFactory() for _ in range(count)]
    drain()
    tasks = list(EscalationTask.objects.filter(pk__in=[t.pk for t in tasks]))
    assert all(task.assigned_to_id == nurse.pk and task.ack_code for task in tasks)
    return tasks


def test_ack_and_the_code_from_her_phone_acknowledges_that_task_as_her(client, nurse):
    first, second = assigned(nurse, 2)
    response = post(client, INBOUND, sms(f"ack {second.ack_code}", sender=nurse.phone))
    assert twiml_messages(response) == ["Sequora: acknowledged. Thank you."]
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.status, second.status) == ("ASSIGNED", "ACKNOWLEDGED")
    assert Event.objects.get(name="task/acknowledged").actor == nurse.user_id
    assert InboundMessage.objects.get().kind == "NURSE_ACK"


def test_1_acknowledges_her_only_waiting_task_and_a_retry_changes_nothing(client, nurse):
    [task] = assigned(nurse)
    message = sms("1", sender=nurse.phone)
    assert twiml_messages(post(client, INBOUND, message)) == ["Sequora: acknowledged. Thank you."]
    assert twiml_messages(post(client, INBOUND, message)) == ["Sequora: acknowledged. Thank you."]
    task.refresh_from_db()
    assert task.status == "ACKNOWLEDGED"
    assert Event.objects.filter(name="task/acknowledged").count() == 1


def test_1_with_two_waiting_tasks_acknowledges_nothing_and_says_how(client, nurse):
    assigned(nurse, 2)
    [answer] = twiml_messages(post(client, INBOUND, sms("1", sender=nurse.phone)))
    assert "nothing was acknowledged" in answer and "ACK" in answer
    assert not EscalationTask.objects.filter(status="ACKNOWLEDGED").exists()


def test_the_same_reply_from_another_phone_acknowledges_nothing_and_says_nothing_of_the_task(client, nurse):
    [task] = assigned(nurse)
    for body in ("1", f"ACK {task.ack_code}"):
        [answer] = twiml_messages(post(client, INBOUND, sms(body, sender="+14155550999")))
        assert answer == "Sequora: nothing was acknowledged from this number."
    task.refresh_from_db()
    assert task.status == "ASSIGNED"
    assert not Event.objects.filter(name="task/acknowledged").exists()


def test_a_patients_1_stays_her_reply(client, nurse):
    patient = PatientFactory(phone="+14155550222")
    [task] = assigned(nurse)
    assert twiml_messages(post(client, INBOUND, sms("1", sender=patient.phone))) == []
    assert InboundMessage.objects.get().kind == "REPLY"
    task.refresh_from_db()
    assert task.status == "ASSIGNED"


def test_another_nurses_code_does_not_acknowledge(client, nurse):
    other = NurseShiftFactory(nurse__phone="+14155550333").nurse
    [task] = assigned(nurse)
    post(client, INBOUND, sms(f"ACK {task.ack_code}", sender=other.phone))
    task.refresh_from_db()
    assert task.status == "ASSIGNED"


# --- the push alert's button -------------------------------------------------------------------------------------


def push_payload(task: EscalationTask) -> dict:
    log = NotificationLog.objects.filter(task=task).first()
    assert log is not None
    log.channel = "PUSH"
    return push_actions(log)


def test_the_push_alert_carries_an_acknowledge_button_that_works_once_for_that_assignment(client, nurse):
    [task] = assigned(nurse)
    payload = push_payload(task)
    assert payload["actions"] == [{"action": "acknowledge", "title": "Acknowledge"}]
    assert payload["data"]["acknowledge_url"] == PUBLIC_BASE_URL + ACK_URL
    token = payload["data"]["token"]

    response = client.post(ACK_URL, json.dumps({"token": token}), content_type="application/json")
    assert (response.status_code, response.json()) == (200, {"status": "acknowledged"})
    task.refresh_from_db()
    assert task.status == "ACKNOWLEDGED"
    assert Event.objects.get(name="task/acknowledged").actor == nurse.user_id
    # Once acknowledged, her alerts carry no button any more.
    assert push_payload(task) == {}


def test_a_token_stops_working_once_the_task_changes_hands(client, nurse):
    other = NurseShiftFactory().nurse
    [task] = assigned(nurse)
    token = push_payload(task)["data"]["token"]
    task_reassign(task=task, nurse=other)
    response = client.post(ACK_URL, {"token": token})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_token"
    task.refresh_from_db()
    assert (task.assigned_to_id, task.status) == (other.pk, "ASSIGNED")


def test_a_forged_expired_or_missing_token_is_refused(client, nurse, settings):
    [task] = assigned(nurse)
    token = push_payload(task)["data"]["token"]
    assert client.post(ACK_URL, {"token": token[:-2] + "xx"}).status_code == 403
    assert client.post(ACK_URL, {}).json()["error"]["fields"] == {"token": ["This field is required."]}
    settings.ACK_TOKEN_MAX_AGE_SECONDS = -1
    assert client.post(ACK_URL, {"token": token}).status_code == 403
    task.refresh_from_db()
    assert task.status == "ASSIGNED"


def test_the_browser_receives_the_button_and_its_token_acknowledges(client, vapid, mocked, settings):  # noqa: F811

    settings.NOTIFICATION_BACKENDS = {
        **settings.NOTIFICATION_BACKENDS,
        "PUSH": "notifications.backends.push.WebPushBackend",
    }
    nurse = NurseFactory(preferred_channel="PUSH")
    browser = Browser("https://fcm.googleapis.com/fcm/send/nurse-phone")
    browser.subscribe(nurse)
    mocked.post(browser.endpoint, status=201)
    task = EscalationTaskFactory(assigned_to=nurse, status="ASSIGNED", assigned_at=timezone.now(), ack_code="4821")
    notification_request(
        notification_type=NotificationType.TASK_ASSIGNED,
        dedupe_key=assignment_key(task_id=task.pk, nurse_id=nurse.pk, assigned_at=task.assigned_at),
        recipient_nurse_id=nurse.pk,
        task_id=task.pk,
    )
    drain()

    [call] = mocked.calls
    shown = browser.read(call.request.body)
    assert shown["actions"] == [{"action": "acknowledge", "title": "Acknowledge"}]
    assert "Reply ACK 4821 to acknowledge." in shown["body"]
    response = client.post(ACK_URL, {"token": shown["data"]["token"]})
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.status == "ACKNOWLEDGED"
