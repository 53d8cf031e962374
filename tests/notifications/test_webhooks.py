"""Twilio's webhooks through Django's test client: the signature (and the public URL behind a proxy), the keywords,
a patient's reply, retries, and status callbacks on the one forward-only status path."""

import datetime as dt
import logging
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone
from twilio.request_validator import RequestValidator

from care_events.models import AgentInteraction, OutreachAttempt, Patient, PatientMessage
from care_events.platform.bus.models import Event, Timer
from care_events.services.episodes import episode_discharge
from notifications.backends import local
from notifications.messages import render_patient_text
from notifications.models import InboundMessage, NotificationLog
from tasks_app.models import EscalationTask
from tests.care_events.factories import AgentInteractionFactory, EpisodeFactory, PatientFactory
from tests.helpers import drain, event_names
from tests.notifications.factories import NotificationLogFactory

pytestmark = pytest.mark.django_db

TOKEN = "twilio-test-auth-token"
PUBLIC_BASE_URL = "https://care.example.org"
INBOUND = "/webhooks/twilio/inbound/"
OUR_NUMBER = "+12025550100"
NOON_NEW_YORK = dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _twilio_settings(settings):
    settings.CHECKIN_DELAY = 24 * 3600
    settings.CHECKIN_RESPONSE_WINDOW = 4 * 3600
    local.clear_outbox()
    # The app is reached as http://testserver behind a proxy that terminates TLS for the public URL.
    with override_settings(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=PUBLIC_BASE_URL):
        yield


def post(client, path, params, *, signed_url=None, token=TOKEN, signature=None, headers=None):
    """POST a form as Twilio does, signed over `signed_url` (default: the public URL of `path`)."""
    if signature is None:
        signature = RequestValidator(token).compute_signature(signed_url or PUBLIC_BASE_URL + path, params)
    all_headers = {**({"X-Twilio-Signature": signature} if signature else {}), **(headers or {})}
    return client.post(path, urlencode(params), content_type="application/x-www-form-urlencoded", headers=all_headers)


def sms(body, *, sender, sid=None):
    return {
        "MessageSid": sid or f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": sender,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


def twiml_messages(response) -> list[str]:
    """The texts a TwiML answer sends back (none for an empty <Response/>)."""
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own answer, not untrusted input
    assert root.tag == "Response"
    return [message.text or "" for message in root.iter("Message")]


# --- the signature ----------------------------------------------------------------------------------------------


def test_a_validly_signed_inbound_message_is_recorded(client):
    patient = PatientFactory()
    response = post(client, INBOUND, sms("Feeling okay today", sender=patient.phone, sid="SM1"))
    assert twiml_messages(response) == []
    inbound = InboundMessage.objects.get()
    assert (inbound.provider_message_id, inbound.kind, inbound.patient_id) == ("SM1", "REPLY", patient.pk)


@pytest.mark.parametrize("path", [INBOUND, f"/webhooks/twilio/status/{uuid.uuid4()}/"])
def test_a_missing_signature_is_403_and_changes_nothing(client, path):
    patient = PatientFactory()
    response = post(client, path, sms("STOP", sender=patient.phone), signature="")
    assert (response.status_code, response.content) == (403, b"")
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("path", [INBOUND, f"/webhooks/twilio/status/{uuid.uuid4()}/"])
def test_a_wrong_signature_is_403(client, path):
    patient = PatientFactory()
    response = post(client, path, sms("STOP", sender=patient.phone), token="another-accounts-token")
    assert (response.status_code, response.content) == (403, b"")
    patient.refresh_from_db()
    assert patient.sms_consent is True
    assert not InboundMessage.objects.exists()


def test_a_tampered_body_is_403(client):
    patient = PatientFactory()
    params = sms("I feel fine", sender=patient.phone)
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_BASE_URL + INBOUND, params)
    response = post(client, INBOUND, {**params, "Body": "STOP"}, signature=signature)
    assert response.status_code == 403
    patient.refresh_from_db()
    assert patient.sms_consent is True
    assert not InboundMessage.objects.exists()


def test_a_tampered_status_callback_is_403(client):
    log = NotificationLogFactory(provider="twilio", provider_message_id="SM1", status="SENT")
    path = f"/webhooks/twilio/status/{log.pk}/"
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_BASE_URL + path, params)
    response = post(client, path, {**params, "MessageStatus": "undelivered"}, signature=signature)
    assert response.status_code == 403
    log.refresh_from_db()
    assert log.status == "SENT"


def test_behind_a_proxy_the_public_url_decides_never_the_request_headers(client):
    # The test client reaches the app as http://testserver; Twilio signed the public https URL.
    patient = PatientFactory()
    over_public = post(client, INBOUND, sms("hello", sender=patient.phone, sid="SM-public"))
    assert over_public.status_code == 200
    over_internal = post(
        client, INBOUND, sms("hello", sender=patient.phone, sid="SM-internal"), signed_url=f"http://testserver{INBOUND}"
    )
    assert over_internal.status_code == 403
    # Headers a caller sends are no evidence: signing for the host they name does not help.
    forged = post(
        client,
        INBOUND,
        sms("hello", sender=patient.phone, sid="SM-forged"),
        signed_url=f"https://attacker.example{INBOUND}",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "attacker.example"},
    )
    assert forged.status_code == 403
    assert list(InboundMessage.objects.values_list("provider_message_id", flat=True)) == ["SM-public"]


def test_a_public_url_with_a_trailing_slash_is_the_same_url(client):
    patient = PatientFactory()
    with override_settings(PUBLIC_BASE_URL=PUBLIC_BASE_URL + "/"):
        response = post(client, INBOUND, sms("hello", sender=patient.phone))
    assert response.status_code == 200


def test_without_an_auth_token_every_webhook_is_refused(client):
    patient = PatientFactory()
    with override_settings(TWILIO_AUTH_TOKEN=""):
        # Even "signed" with the empty token: an unconfigured token must never mean "no check".
        response = post(client, INBOUND, sms("STOP", sender=patient.phone), token="")
    assert (response.status_code, response.content) == (403, b"")
    assert not InboundMessage.objects.exists()


def test_a_request_signed_with_a_webhook_shared_key_is_refused(client, caplog):
    patient = PatientFactory()
    params = sms("hello", sender=patient.phone)
    signature = RequestValidator("a-shared-key-secret").compute_signature(
        PUBLIC_BASE_URL + INBOUND, params, algorithm="HMAC_SHA256"
    )
    headers = {"X-Twilio-Webhooks-Signature-Settings": "key=KS0000,algorithm=HMAC_SHA256"}
    with caplog.at_level(logging.WARNING, logger="notifications.webhooks"):
        response = post(client, INBOUND, params, signature=signature, headers=headers)
    assert response.status_code == 403
    assert "shared key" in caplog.text


@pytest.mark.parametrize("path", [INBOUND, f"/webhooks/twilio/status/{uuid.uuid4()}/"])
def test_only_post_is_allowed(client, path):
    assert client.get(path).status_code == 405


def test_an_inbound_message_without_its_sid_is_400_naming_the_field(client):
    patient = PatientFactory()
    params = sms("hello", sender=patient.phone)
    del params["MessageSid"]
    response = post(client, INBOUND, params)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"MessageSid": ["This field is required."]}
    assert not InboundMessage.objects.exists()


# --- keywords ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", ["STOP", "  sToP  ", "stopall", " StopAll\n", "Unsubscribe", "cancel ", "\tEnd", "qUIT", "revoke", "OptOut"]
)
def test_every_opt_out_keyword_turns_consent_off(client, body):
    patient = PatientFactory(sms_consent=True)
    response = post(client, INBOUND, sms(body, sender=patient.phone))
    assert twiml_messages(response) == []
    patient.refresh_from_db()
    assert (patient.sms_consent, patient.sms_opted_out_at is not None) == (False, True)
    assert InboundMessage.objects.get().kind == "STOP"
    assert not PatientMessage.objects.exists()


@pytest.mark.parametrize("body", ["START", "  start ", "yes", " Yes\n", "unstop", "UnStop  "])
def test_every_opt_in_keyword_turns_consent_on(client, body):
    patient = PatientFactory(sms_consent=False, sms_opted_out_at=timezone.now())
    response = post(client, INBOUND, sms(body, sender=patient.phone))
    assert twiml_messages(response) == []
    patient.refresh_from_db()
    assert (patient.sms_consent, patient.sms_opted_out_at) == (True, None)
    assert InboundMessage.objects.get().kind == "START"


@pytest.mark.parametrize("body", ["HELP", "  help ", "Help\n", "info", " INFO "])
def test_every_help_keyword_is_answered_with_the_help_text(client, body):
    patient = PatientFactory(preferred_language="en")
    response = post(client, INBOUND, sms(body, sender=patient.phone))
    assert twiml_messages(response) == [render_patient_text("HELP", "en")]
    assert InboundMessage.objects.get().kind == "HELP"
    patient.refresh_from_db()
    assert patient.sms_consent is True
    assert not PatientMessage.objects.exists()


def test_help_is_answered_in_spanish_to_a_spanish_speaker(client):
    patient = PatientFactory(preferred_language="es")
    [text] = twiml_messages(post(client, INBOUND, sms(" help ", sender=patient.phone)))
    assert text == render_patient_text("HELP", "es")
    assert "STOP para no recibir más mensajes" in text


def test_the_help_text_is_escaped_for_xml(client, monkeypatch):
    monkeypatch.setattr("notifications.webhooks.render_patient_text", lambda name, language: "Call <911> & wait")
    patient = PatientFactory()
    response = post(client, INBOUND, sms("HELP", sender=patient.phone))
    assert b"Call &lt;911&gt; &amp; wait" in response.content
    assert twiml_messages(response) == ["Call <911> & wait"]


def test_stop_reaches_every_patient_with_that_number_and_a_whatsapp_sender_is_its_number(client):
    first = PatientFactory(phone="+12025550177")
    second = PatientFactory(phone="+12025550177")  # a spouse on the same phone
    response = post(client, INBOUND, sms("STOP", sender="whatsapp:+12025550177"))
    assert twiml_messages(response) == []
    assert list(Patient.objects.filter(pk__in=[first.pk, second.pk]).values_list("sms_consent", flat=True)) == [
        False,
        False,
    ]
    assert InboundMessage.objects.get().from_number == "+12025550177"


def discharged_episode(patient, discharged_at):
    episode = EpisodeFactory(patient=patient, discharged_at=None, admitted_at=discharged_at - dt.timedelta(days=3))
    episode_discharge(episode=episode, discharged_at=discharged_at)
    drain()
    return episode


def test_after_stop_the_checkin_is_not_texted_until_start(client):
    patient = PatientFactory()
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        first = discharged_episode(patient, NOON_NEW_YORK)
        post(client, INBOUND, sms("Stop", sender=patient.phone))
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, seconds=1), tick=False):
        drain()
    # Opted out: no text, and a nurse is asked to call instead.
    assert local.outbox == []
    assert not NotificationLog.objects.filter(type="CHECKIN").exists()
    assert OutreachAttempt.objects.get(plan__episode=first).status == "CANCELLED"
    assert EscalationTask.objects.get(episode=first).reason_codes == ["SMS_OPT_OUT"]

    later = NOON_NEW_YORK + dt.timedelta(days=10)
    with time_machine.travel(later, tick=False):
        post(client, INBOUND, sms(" start ", sender=patient.phone))
        second = discharged_episode(patient, later)
    with time_machine.travel(later + dt.timedelta(days=1, seconds=1), tick=False):
        drain()
    log = NotificationLog.objects.get(type="CHECKIN")
    assert (log.recipient_patient_id, log.episode_id, log.status) == (patient.pk, second.pk, "DELIVERED")
    assert [message.to for message in local.outbox] == [patient.phone]


# --- replies ----------------------------------------------------------------------------------------------------


def test_a_reply_cancels_the_no_answer_follow_up(client):
    patient = PatientFactory()
    with time_machine.travel(NOON_NEW_YORK, tick=False):
        episode = discharged_episode(patient, NOON_NEW_YORK)
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, seconds=1), tick=False):
        drain()
        assert len(local.outbox) == 1  # the check-in text
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, hours=1), tick=False):
        response = post(client, INBOUND, sms("A little tired but fine", sender=patient.phone, sid="SMreply"))
        drain()
    assert twiml_messages(response) == []
    with time_machine.travel(NOON_NEW_YORK + dt.timedelta(days=1, hours=5), tick=False):
        drain()
    assert OutreachAttempt.objects.get(plan__episode=episode).status == "ANSWERED"
    assert Timer.objects.get(kind="CHECKIN_NO_ANSWER").cancelled_at is not None
    assert not EscalationTask.objects.filter(action_type="CALL_PATIENT_NO_ANSWER").exists()
    assert "checkin/no_answer" not in event_names()
    message = PatientMessage.objects.get()
    assert (message.text, message.provider_message_id) == ("A little tired but fine", "SMreply")
    assert message.interaction.episode_id == episode.pk
    assert event_names().count("interaction/patient_replied") == 1


def test_a_reply_lands_on_the_open_interaction(client):
    interaction = AgentInteractionFactory()
    patient = interaction.episode.patient
    post(client, INBOUND, sms("The swelling is better", sender=patient.phone))
    assert PatientMessage.objects.get().interaction_id == interaction.pk
    assert AgentInteraction.objects.count() == 1


def test_a_bare_yes_from_a_patient_who_can_be_texted_is_a_reply_not_an_opt_in(client):
    interaction = AgentInteractionFactory()
    post(client, INBOUND, sms(" Yes ", sender=interaction.episode.patient.phone))
    assert InboundMessage.objects.get().kind == "REPLY"
    assert PatientMessage.objects.get().text == " Yes "


def test_a_reply_without_an_open_interaction_starts_one(client):
    episode = EpisodeFactory()
    post(client, INBOUND, sms("Who is this?", sender=episode.patient.phone))
    interaction = AgentInteraction.objects.get()
    assert (interaction.episode_id, interaction.status) == (episode.pk, "IN_PROGRESS")
    assert PatientMessage.objects.get().interaction_id == interaction.pk


def test_a_retried_inbound_webhook_changes_nothing_and_answers_the_same(client):
    interaction = AgentInteractionFactory()
    patient = interaction.episode.patient
    reply = sms("I ran out of my pills", sender=patient.phone, sid="SMreply")
    help_ = sms("HELP", sender=patient.phone, sid="SMhelp")
    stop = sms("STOP", sender=patient.phone, sid="SMstop")
    first = [post(client, INBOUND, params).content for params in (reply, help_, stop)]
    post(client, INBOUND, sms("START", sender=patient.phone, sid="SMstart"))
    counts = (InboundMessage.objects.count(), PatientMessage.objects.count(), Event.objects.count())

    again = [post(client, INBOUND, params).content for params in (reply, help_, stop)]

    assert again == first
    assert (
        (InboundMessage.objects.count(), PatientMessage.objects.count(), Event.objects.count())
        == counts
        == (
            4,
            1,
            1,
        )
    )
    patient.refresh_from_db()
    assert patient.sms_consent is True  # the STOP retried after the START does not opt the patient out again


def test_an_unknown_number_is_recorded_and_answered_with_nothing(client):
    PatientFactory(phone="+12025550111")
    response = post(client, INBOUND, sms("STOP", sender="+12025550999", sid="SMunknown"))
    assert twiml_messages(response) == []
    assert b"<Message" not in response.content
    inbound = InboundMessage.objects.get()
    assert (inbound.kind, inbound.patient_id, inbound.from_number) == ("UNKNOWN_SENDER", None, "+12025550999")
    assert not PatientMessage.objects.exists()
    assert Event.objects.count() == 0


def test_a_reply_from_a_patient_never_discharged_is_kept_as_the_inbound_row_only(client):
    patient = PatientFactory()
    EpisodeFactory(patient=patient, discharged_at=None)
    response = post(client, INBOUND, sms("Hello?", sender=patient.phone))
    assert twiml_messages(response) == []
    assert InboundMessage.objects.get().kind == "REPLY"
    assert not PatientMessage.objects.exists()
    assert not AgentInteraction.objects.exists()


def test_the_inbound_webhook_logs_neither_the_number_nor_the_body(client, caplog):
    episode = EpisodeFactory(patient__phone="+12025550188", patient__preferred_language="es")
    bodies = ["My chest hurts when I climb stairs", "HELP", "STOP", "START"]
    with caplog.at_level(logging.DEBUG):
        for n, body in enumerate(bodies):
            post(client, INBOUND, sms(body, sender="whatsapp:+12025550188", sid=f"SMlog{n}"))
        post(client, INBOUND, sms("Wrong number, sorry", sender="+12025550199", sid="SMlog-unknown"))
        post(client, INBOUND, sms("Unsigned words", sender="+12025550188"), signature="")
    assert PatientMessage.objects.get().interaction.episode_id == episode.pk
    assert "SMlog0" in caplog.text  # the log does say what happened, by id
    for secret in ["2025550188", "2025550199", "chest hurts", "Wrong number", "Unsigned words"]:
        assert secret not in caplog.text


# --- status callbacks -------------------------------------------------------------------------------------------


def status(client, log, **params):
    return post(client, f"/webhooks/twilio/status/{log.pk}/", params)


def test_a_status_callback_moves_forward_and_ignores_duplicates_and_out_of_order_reports(client):
    log = NotificationLogFactory(provider="twilio", provider_message_id="SMdelivered", status="SENT")
    delivered = status(client, log, MessageSid="SMdelivered", MessageStatus="delivered")
    log.refresh_from_db()
    assert (delivered.status_code, delivered.content, log.status) == (200, b"", "DELIVERED")
    delivered_at = log.delivered_at

    duplicate = status(client, log, MessageSid="SMdelivered", MessageStatus="delivered")
    late_sent = status(client, log, MessageSid="SMdelivered", MessageStatus="sent")

    assert [duplicate.status_code, late_sent.status_code] == [200, 200]
    assert duplicate.content == late_sent.content == b""
    log.refresh_from_db()
    assert (log.status, log.delivered_at) == ("DELIVERED", delivered_at)


def test_undelivered_with_an_error_code_fails_the_message(client):
    log = NotificationLogFactory(provider="twilio", provider_message_id="SMfail", status="SENT")
    response = status(client, log, MessageSid="SMfail", MessageStatus="undelivered", ErrorCode="30006")
    assert response.status_code == 200
    log.refresh_from_db()
    assert (log.status, log.error_code, log.provider_status) == ("FAILED", "twilio:30006", "undelivered")
    event = Event.objects.get(name="notification/failed")
    assert event.data == {"notification_id": str(log.pk), "error_code": "twilio:30006"}


def test_a_completed_call_is_delivered(client):
    log = NotificationLogFactory(channel="VOICE", provider="twilio", provider_message_id="CA123", status="SENT")
    response = status(client, log, CallSid="CA123", CallStatus="completed", AccountSid="AC0")
    assert response.status_code == 200
    log.refresh_from_db()
    assert log.status == "DELIVERED"


def test_a_report_of_an_unknown_notification_is_acknowledged_and_changes_nothing(client):
    log = NotificationLogFactory(provider="twilio", provider_message_id="SMknown", status="SENT")
    response = post(
        client, f"/webhooks/twilio/status/{uuid.uuid4()}/", {"MessageSid": "SMknown", "MessageStatus": "failed"}
    )
    assert (response.status_code, response.content) == (200, b"")
    log.refresh_from_db()
    assert log.status == "SENT"
    assert not Event.objects.filter(name__startswith="notification/").exists()


def test_a_report_naming_another_message_changes_nothing(client):
    log = NotificationLogFactory(provider="twilio", provider_message_id="SMmine", status="SENT")
    response = status(client, log, MessageSid="SMsomeone-else", MessageStatus="failed")
    assert response.status_code == 200
    log.refresh_from_db()
    assert log.status == "SENT"
