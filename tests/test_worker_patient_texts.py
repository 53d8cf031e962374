"""A patient's text always reaches someone, on a real Celery worker, Beat, PostgreSQL and Redis: the agent's webhook
(a real local HTTP server) gets it signed within seconds, and once after an outage of its endpoint; nobody acting
on it makes a nurse task at the configured time; a red flag makes it HIGH at once. (The outage is minutes in
production; the test settings' retry schedule is capped at 2 s, so seconds stand in for minutes here.)"""

import json
import time

import pytest
from django.utils import timezone

from care_events.models import PatientMessage
from care_events.platform.bus.models import Event
from care_events.platform.webhooks.models import WebhookDelivery
from care_events.platform.webhooks.services import WEBHOOK_EVENTS, webhook_subscription_create
from care_events.services.interactions import patient_reply_record
from tasks_app.models import EscalationTask
from tests.care_events.factories import AgentInteractionFactory
from tests.care_events.platform.webhooks.fake_agent import FakeAgent, documented_verify
from tests.worker import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agent_endpoint():
    endpoint = FakeAgent().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def secret(agent_endpoint):
    return webhook_subscription_create(name="interaction-agent", url=agent_endpoint.url, events=WEBHOOK_EVENTS)[1]


def texted(text="I feel dizzy since this morning", sid="SM-worker-1"):
    interaction = AgentInteractionFactory()
    return patient_reply_record(patient_id=interaction.episode.patient_id, text=text, provider_message_id=sid)


def test_a_patients_text_reaches_the_agents_webhook_within_seconds(worker, agent_endpoint, secret, settings):
    settings.REPLY_REVIEW_AFTER_MINUTES = 60
    started = time.monotonic()
    message = texted()

    received = wait_until(agent_endpoint.accepted, timeout=20, what="the agent's webhook")[0]
    assert time.monotonic() - started < 20
    assert documented_verify()(secret, received.headers, received.body)
    event = Event.objects.get(name="interaction/patient_replied")
    assert received.headers["webhook-id"] == str(event.pk)
    assert json.loads(received.body)["data"]["message_id"] == str(message.pk)
    assert b"dizzy" not in received.body


def test_with_the_agents_endpoint_down_the_text_arrives_once_after_recovery(worker, agent_endpoint, secret, settings):
    settings.REPLY_REVIEW_AFTER_MINUTES = 60
    agent_endpoint.status = 503
    texted(sid="SM-worker-2")
    wait_until(lambda: len(agent_endpoint.requests) >= 3, timeout=30, what="retries while the endpoint is down")
    assert not agent_endpoint.accepted()

    agent_endpoint.status = 200
    wait_until(agent_endpoint.accepted, timeout=30, what="the delivery after recovery")
    delivery = wait_until(
        lambda: WebhookDelivery.objects.filter(status="DELIVERED").first(), timeout=10, what="the row delivered"
    )
    # Longer than the relay's grace and a few sweeps: nothing sends it again.
    time.sleep(6)
    event = Event.objects.get(name="interaction/patient_replied")
    assert agent_endpoint.accepted_by_id() == {str(event.pk): 1}
    assert delivery.attempts >= 4 and delivery.attempts == len(agent_endpoint.requests)


def test_an_unacted_text_becomes_a_nurse_task_at_the_configured_time(worker, settings):
    settings.REPLY_REVIEW_AFTER_MINUTES = 0.1  # 6 s
    message = texted(sid="SM-worker-3")

    task = wait_until(lambda: EscalationTask.objects.filter(source_key=f"reply:{message.pk}").first(), timeout=30)
    assert task.created_at >= message.received_at + timezone.timedelta(seconds=6)
    assert (task.severity, task.reason_codes) == ("MODERATE", ["PATIENT_REPLY"])
    assert PatientMessage.objects.get().handled_how == "NURSE_TASK"


def test_a_red_flag_makes_a_high_nurse_task_at_once(worker, settings):
    settings.REPLY_REVIEW_AFTER_MINUTES = 60
    message = texted("Tengo dolor de pecho", sid="SM-worker-4")

    task = wait_until(lambda: EscalationTask.objects.filter(source_key=f"reply:{message.pk}").first(), timeout=15)
    assert (task.severity, task.reason_codes) == ("HIGH", ["PATIENT_REPLY_RED_FLAG"])
    assert task.created_at - message.received_at < timezone.timedelta(seconds=15)
