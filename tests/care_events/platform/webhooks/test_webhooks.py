"""Outbound webhooks to the agent (docs/webhooks.md), in-process against a real local HTTP server: signed as
documented, ids only, retried with backoff, once per event by its id, and the outbound call's rules."""

import datetime as dt
import io
import json
import time

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from care_events.platform.bus.models import Event
from care_events.platform.webhooks.models import WebhookDelivery, WebhookSubscription
from care_events.platform.webhooks.services import (
    WEBHOOK_EVENTS,
    webhook_deliver,
    webhook_deliveries_redrive,
    webhook_subscription_create,
    webhooks_relay,
)
from care_events.services.episodes import episode_discharge
from care_events.services.interactions import patient_reply_record
from tests.care_events.factories import AgentInteractionFactory, EpisodeFactory
from tests.care_events.platform.webhooks.fake_agent import documented_verify
from tests.helpers import drain

pytestmark = pytest.mark.django_db

verify_webhook = documented_verify()


@pytest.fixture
def subscription(agent_endpoint):
    return webhook_subscription_create(name="interaction-agent", url=agent_endpoint.url, events=WEBHOOK_EVENTS)


def deliver_due() -> None:
    due = WebhookDelivery.objects.filter(status="PENDING", next_attempt_at__lte=timezone.now())
    for delivery_id in due.values_list("pk", flat=True):
        webhook_deliver(delivery_id=delivery_id)


def a_patient_texts(body="I feel dizzy since this morning"):
    interaction = AgentInteractionFactory()
    message = patient_reply_record(patient_id=interaction.episode.patient_id, text=body, provider_message_id="SM1")
    drain()  # the event's bus subscription writes the delivery row
    return message


def test_a_patients_text_reaches_the_agent_signed_as_documented_with_ids_only(subscription, agent_endpoint, caplog):
    _, secret = subscription
    message = a_patient_texts()
    deliver_due()

    (received,) = agent_endpoint.requests
    event = Event.objects.get(name="interaction/patient_replied")
    assert verify_webhook(secret, received.headers, received.body)
    assert received.headers["webhook-id"] == str(event.pk)
    assert received.headers["webhook-signature"].startswith("v1,")
    assert received.headers["content-type"] == "application/json"
    payload = json.loads(received.body)
    assert payload["type"] == "interaction/patient_replied"
    assert payload["data"] == {"interaction_id": str(message.interaction_id), "message_id": str(message.pk)}
    assert "dizzy" not in received.body.decode() and "dizzy" not in caplog.text
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("DELIVERED", 1, 200)


def test_the_documented_check_refuses_a_changed_body_another_secret_and_an_old_delivery(subscription, agent_endpoint):
    _, secret = subscription
    a_patient_texts()
    deliver_due()
    (received,) = agent_endpoint.requests
    other_secret = webhook_subscription_create(name="other", url=agent_endpoint.url, events=WEBHOOK_EVENTS)[1]

    assert not verify_webhook(secret, received.headers, received.body + b" ")
    assert not verify_webhook(other_secret, received.headers, received.body)
    assert not verify_webhook(secret, {**received.headers, "webhook-id": "another"}, received.body)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        assert not verify_webhook(secret, received.headers, received.body)


def test_the_agent_down_then_up_gets_each_event_once(subscription, agent_endpoint, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 50
    a_patient_texts()
    agent_endpoint.status = 503
    start = timezone.now()
    for n in range(1, 4):
        with time_machine.travel(start + dt.timedelta(seconds=3 * n), tick=False):
            deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("PENDING", 3, 503)
    assert delivery.next_attempt_at <= start + dt.timedelta(seconds=9 + settings.WEBHOOK_RETRY_CAP_SECONDS)

    agent_endpoint.status = 200
    with time_machine.travel(start + dt.timedelta(seconds=20), tick=False):
        deliver_due()
        deliver_due()  # nothing left: a second message for the row (a relay's, a redelivery) sends nothing
        webhook_deliver(delivery_id=delivery.pk)

    event_id = str(Event.objects.get(name="interaction/patient_replied").pk)
    assert agent_endpoint.accepted_by_id() == {event_id: 1}
    assert len(agent_endpoint.requests) == 4
    assert WebhookDelivery.objects.get().status == "DELIVERED"


def test_a_delivery_gives_up_after_its_attempts_and_admin_redrives_it(subscription, agent_endpoint, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    a_patient_texts()
    agent_endpoint.status = 500
    deliver_due()
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=5), tick=False):
        deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("FAILED", 2)

    agent_endpoint.status = 200
    assert webhook_deliveries_redrive(delivery_ids=[delivery.pk]) == 1
    deliver_due()
    assert WebhookDelivery.objects.get().status == "DELIVERED"


def test_a_redirect_is_not_followed(subscription, agent_endpoint):
    a_patient_texts()
    agent_endpoint.status = 302
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code, len(agent_endpoint.requests)) == ("PENDING", 302, 1)


def test_a_private_address_is_refused_unless_allowed(subscription, agent_endpoint, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    a_patient_texts()
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, agent_endpoint.requests) == ("FAILED", 1, [])
    assert delivery.last_error == "WebhookURLRefusedError: private_address"


def test_https_is_required_where_configured(agent_endpoint, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    with pytest.raises(ValueError, match="https"):
        webhook_subscription_create(name="plain", url=agent_endpoint.url, events=WEBHOOK_EVENTS)


def test_one_deadline_for_the_whole_call(subscription, agent_endpoint, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    agent_endpoint.delay = 3
    a_patient_texts()
    started = time.monotonic()
    deliver_due()
    assert time.monotonic() - started < 2
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "PENDING" and delivery.last_error == "WebhookTransportError: timed_out"


def test_only_active_subscriptions_to_the_event_get_it(agent_endpoint):
    webhook_subscription_create(name="checkins", url=agent_endpoint.url, events=["checkin/sent"])
    inactive, _ = webhook_subscription_create(name="old", url=agent_endpoint.url, events=WEBHOOK_EVENTS)
    inactive.active = False
    inactive.save()
    a_patient_texts()
    assert not WebhookDelivery.objects.exists()


def test_the_checkin_sent_and_no_answer_reach_the_agent(subscription, agent_endpoint, settings):
    settings.CHECKIN_RESPONSE_WINDOW = 3600
    settings.QUIET_HOURS_START = settings.QUIET_HOURS_END = 0
    episode = EpisodeFactory(discharged_at=None, admitted_at=timezone.now() - dt.timedelta(days=3))
    discharged = timezone.now()
    with time_machine.travel(discharged, tick=False):
        episode_discharge(episode=episode, discharged_at=discharged)
        drain()
    with time_machine.travel(discharged + dt.timedelta(days=1, seconds=1), tick=False):
        drain()
        deliver_due()
    with time_machine.travel(discharged + dt.timedelta(days=1, hours=1, seconds=2), tick=False):
        drain()
        deliver_due()
    types = [json.loads(r.body)["type"] for r in agent_endpoint.accepted()]
    assert types == ["checkin/sent", "checkin/no_answer"]
    sent = json.loads(agent_endpoint.accepted()[0].body)["data"]
    assert set(sent) == {"episode_id", "outreach_attempt_id", "answer_by"}


def test_the_relay_publishes_a_delivery_whose_message_was_lost_and_then_waits(subscription, settings):
    a_patient_texts()
    WebhookDelivery.objects.update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=settings.RELAY_GRACE_SECONDS + 1), enqueued_at=None
    )
    assert webhooks_relay() == 1
    assert WebhookDelivery.objects.get().enqueued_at is not None
    assert webhooks_relay() == 0


def test_the_command_prints_the_secret_once_and_keeps_it_for_signing(agent_endpoint):
    out = io.StringIO()
    call_command("create_webhook_subscription", "interaction-agent", agent_endpoint.url, stdout=out)
    secret = out.getvalue().strip()
    subscription = WebhookSubscription.objects.get()
    assert secret.startswith("whsec_") and subscription.secret == secret
    assert subscription.events == list(WEBHOOK_EVENTS)
