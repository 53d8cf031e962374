import datetime as dt
import logging
import re
import socket
from typing import TYPE_CHECKING

import pytest
import responses
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone

from notifications.backends import (
    OutgoingMessage,
    PermanentSendError,
    SendError,
    TransientSendError,
    get_backend,
)
from notifications.backends.local import LocalBackend, clear_outbox, outbox
from notifications.backends.twilio import TwilioSmsBackend, TwilioVoiceBackend, rewrite_api_url
from tests.notifications.fake_twilio import FakeTwilio, fake_twilio_fixture  # noqa: F401

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings

PATIENT_PHONE = "+15558675310"
BODY = "Hi Ada, how is your breathing today?"
TWILIO_SID = re.compile(r"^(SM|CA)[0-9a-f]{32}$")


def sms(**overrides: object) -> OutgoingMessage:
    fields: dict = {"channel": "SMS", "to": PATIENT_PHONE, "body": BODY} | overrides
    return OutgoingMessage(**fields)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_no_phi(error: SendError, caplog: pytest.LogCaptureFixture) -> None:
    for text in (str(error), caplog.text):
        assert PATIENT_PHONE not in text
        assert BODY not in text
    # The provider's exception (whose text quotes the number) is not chained into tracebacks.
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_twilio_sms_is_sent_through_the_rest_api(fake_twilio: FakeTwilio) -> None:
    message = sms(status_callback_url="https://care.example/webhooks/twilio/status")

    result = TwilioSmsBackend().send(message)

    [request] = fake_twilio.requests
    assert request.resource == "Messages"
    assert request.account_sid == fake_twilio.account_sid
    assert request.form["To"] == PATIENT_PHONE
    assert request.form["From"] == fake_twilio.from_number
    assert request.form["Body"] == BODY
    assert request.form["StatusCallback"] == "https://care.example/webhooks/twilio/status"
    # The provider's own word for where the message is (delivery reads it through the status path).
    assert (result.provider, result.message_id, result.status) == ("twilio", request.sid, "queued")
    assert TWILIO_SID.match(result.message_id)


def test_twilio_sms_omits_status_callback_when_not_set(fake_twilio: FakeTwilio) -> None:
    TwilioSmsBackend().send(sms())

    assert "StatusCallback" not in fake_twilio.requests[0].form


def test_whatsapp_route_prefixes_both_addresses(fake_twilio: FakeTwilio) -> None:
    TwilioSmsBackend().send(sms(whatsapp=True))

    form = fake_twilio.requests[0].form
    assert form["To"] == f"whatsapp:{PATIENT_PHONE}"
    assert form["From"] == f"whatsapp:{fake_twilio.whatsapp_from_number}"


def test_voice_call_speaks_the_body_as_escaped_twiml(fake_twilio: FakeTwilio) -> None:
    message = OutgoingMessage(channel="VOICE", to=PATIENT_PHONE, body='Task <HIGH> & "urgent"')

    result = TwilioVoiceBackend().send(message)

    [request] = fake_twilio.requests
    assert request.resource == "Calls"
    assert request.form["To"] == PATIENT_PHONE
    assert request.form["From"] == fake_twilio.from_number
    assert request.form["Twiml"] == '<Response><Say>Task &lt;HIGH&gt; &amp; "urgent"</Say></Response>'
    assert result.message_id == request.sid
    assert result.message_id.startswith("CA")
    assert result.status == "queued"


@pytest.mark.parametrize("code", [21211, 21610])
def test_twilio_4xx_is_permanent_with_the_twilio_code(
    fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture, code: int
) -> None:
    fake_twilio.fail_next(status=400, code=code, message=f"The 'To' number {PATIENT_PHONE} is not valid.")

    with caplog.at_level(logging.DEBUG), pytest.raises(PermanentSendError) as raised:
        TwilioSmsBackend().send(sms())

    assert raised.value.code == f"twilio:{code}"
    assert raised.value.retryable is False
    assert_no_phi(raised.value, caplog)


def test_twilio_auth_failure_is_permanent(fake_twilio: FakeTwilio, settings: "Settings") -> None:
    settings.TWILIO_AUTH_TOKEN = "wrong-token"

    with pytest.raises(PermanentSendError) as raised:
        TwilioSmsBackend().send(sms())

    assert raised.value.code == "twilio:20003"
    assert fake_twilio.requests == []


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (503, 20503)])
def test_rate_limit_and_server_errors_are_transient(
    fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture, status: int, code: int
) -> None:
    fake_twilio.fail_next(status=status, code=code)

    with caplog.at_level(logging.DEBUG), pytest.raises(TransientSendError) as raised:
        TwilioSmsBackend().send(sms())

    assert raised.value.code == f"twilio:{code}"
    assert raised.value.retryable is True
    assert_no_phi(raised.value, caplog)


def test_a_transient_failure_does_not_poison_the_next_send(fake_twilio: FakeTwilio) -> None:
    backend = TwilioSmsBackend()
    fake_twilio.fail_next(status=503, code=20503)
    with pytest.raises(TransientSendError):
        backend.send(sms())

    result = backend.send(sms())

    assert [r.response_status for r in fake_twilio.requests] == [503, 201]
    assert result.message_id == fake_twilio.requests[1].sid


def test_connection_refused_is_transient(
    fake_twilio: FakeTwilio, settings: "Settings", caplog: pytest.LogCaptureFixture
) -> None:
    settings.TWILIO_API_BASE_URL = closed_port_url()

    with caplog.at_level(logging.DEBUG), pytest.raises(TransientSendError) as raised:
        TwilioSmsBackend().send(sms())

    assert raised.value.code == "network"
    assert_no_phi(raised.value, caplog)


def test_timeout_is_transient(fake_twilio: FakeTwilio, settings: "Settings") -> None:
    settings.TWILIO_TIMEOUT_SECONDS = 0.2
    fake_twilio.response_delay_seconds = 1.0

    with pytest.raises(TransientSendError) as raised:
        TwilioVoiceBackend().send(OutgoingMessage(channel="VOICE", to=PATIENT_PHONE, body=BODY))

    assert raised.value.code == "network"


def test_timeout_leaves_the_send_in_doubt_and_an_http_error_does_not(
    fake_twilio: FakeTwilio, settings: "Settings"
) -> None:
    fake_twilio.fail_next(1, status=503, code=20503)
    with pytest.raises(TransientSendError) as answered:
        TwilioSmsBackend().send(sms())
    settings.TWILIO_TIMEOUT_SECONDS = 0.2
    fake_twilio.response_delay_seconds = 1.0
    with pytest.raises(TransientSendError) as timed_out:
        TwilioSmsBackend().send(sms())

    assert (answered.value.in_doubt, timed_out.value.in_doubt) == (False, True)


def test_find_sent_lists_this_message_since_the_attempt_began_oldest_first(fake_twilio: FakeTwilio) -> None:
    backend = TwilioSmsBackend()
    since = timezone.now()
    first, second = backend.send(sms()), backend.send(sms())
    backend.send(sms(body="another message"))
    backend.send(sms(to="+15558675311"))

    found = backend.find_sent(sms(), since=since)

    assert [f.message_id for f in found] == [first.message_id, second.message_id]
    assert {f.provider for f in found} == {"twilio"}
    assert backend.find_sent(sms(body="never sent"), since=since) == []
    # Twilio's clock may be behind ours by up to a minute; older than that is another, earlier message.
    assert backend.find_sent(sms(), since=since + dt.timedelta(minutes=5)) == []
    assert fake_twilio.lookups == 3


def test_find_sent_matches_whatsapp_and_calls_by_their_own_addresses(fake_twilio: FakeTwilio) -> None:
    since = timezone.now()
    whatsapp = TwilioSmsBackend().send(sms(whatsapp=True))
    call = TwilioVoiceBackend().send(OutgoingMessage(channel="VOICE", to=PATIENT_PHONE, body=BODY))

    assert [f.message_id for f in TwilioSmsBackend().find_sent(sms(whatsapp=True), since=since)] == [
        whatsapp.message_id
    ]
    assert TwilioSmsBackend().find_sent(sms(), since=since) == []
    voice = OutgoingMessage(channel="VOICE", to=PATIENT_PHONE, body="any text")
    assert [f.message_id for f in TwilioVoiceBackend().find_sent(voice, since=since)] == [call.message_id]


def test_a_lookup_twilio_answers_with_an_error_keeps_its_status_and_code(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(1, status=503, code=20503)
    fake_twilio.fail_next(1, status=401, code=20003)
    with pytest.raises(TransientSendError) as outage:
        TwilioSmsBackend().find_sent(sms(), since=timezone.now())
    with pytest.raises(PermanentSendError) as refused:
        TwilioSmsBackend().find_sent(sms(), since=timezone.now())
    assert (outage.value.code, refused.value.code) == ("twilio:20503", "twilio:20003")


def test_a_failed_lookup_is_a_send_error_without_phi(
    fake_twilio: FakeTwilio, settings: "Settings", caplog: pytest.LogCaptureFixture
) -> None:
    settings.TWILIO_API_BASE_URL = closed_port_url()
    with caplog.at_level(logging.DEBUG), pytest.raises(TransientSendError) as raised:
        TwilioSmsBackend().find_sent(sms(), since=timezone.now())
    assert_no_phi(raised.value, caplog)


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"])
def test_missing_credentials_are_permanent(fake_twilio: FakeTwilio, settings: "Settings", missing: str) -> None:
    setattr(settings, missing, "")

    with pytest.raises(PermanentSendError) as raised:
        TwilioSmsBackend().send(sms())

    assert raised.value.code == "not_configured"
    assert fake_twilio.requests == []


def test_whatsapp_without_a_whatsapp_sender_is_not_configured(fake_twilio: FakeTwilio, settings: "Settings") -> None:
    settings.TWILIO_WHATSAPP_FROM_NUMBER = ""

    with pytest.raises(PermanentSendError) as raised:
        TwilioSmsBackend().send(sms(whatsapp=True))

    assert raised.value.code == "not_configured"


@responses.activate
def test_default_base_url_talks_to_api_twilio_com_unchanged(settings: "Settings") -> None:
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_API_BASE_URL = "https://api.twilio.com"
    url = f"https://api.twilio.com/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Messages.json"
    responses.post(url, status=201, json={"sid": "SM" + "a" * 32, "status": "queued"})

    result = TwilioSmsBackend().send(sms())

    assert result.message_id == "SM" + "a" * 32
    assert responses.calls[0].request.url == url


def test_rewrite_covers_edge_and_region_hosts_only() -> None:
    path = "/2010-04-01/Accounts/AC1/Messages.json"
    base = "http://127.0.0.1:8999"

    assert rewrite_api_url(f"https://api.sydney.au1.twilio.com{path}", base) == base + path
    assert rewrite_api_url(f"https://api.twilio.com{path}?x=1", base + "/") == f"{base}{path}?x=1"
    assert rewrite_api_url(f"https://example.com{path}", base) == f"https://example.com{path}"
    assert rewrite_api_url(f"https://api.sydney.au1.twilio.com{path}", "https://api.twilio.com") == (
        f"https://api.sydney.au1.twilio.com{path}"
    )


def test_local_backend_keeps_messages_in_the_outbox() -> None:
    clear_outbox()
    message = sms(channel="EMAIL", to="nurse@example.org", subject="New task")

    result = LocalBackend().send(message)

    assert outbox == [message]
    assert result.provider == "local"
    assert re.fullmatch(r"local-[0-9a-f]{32}", result.message_id)
    # Taken now; asked later, it says delivered (delivery records that through the status path at once).
    assert result.status == "sent"
    assert LocalBackend().fetch_status(result.message_id) == ("delivered", "")
    clear_outbox()
    assert outbox == []


def test_get_backend_follows_override_settings() -> None:
    twilio = {"SMS": "notifications.backends.twilio.TwilioSmsBackend"}
    local = {"SMS": "notifications.backends.local.LocalBackend"}

    with override_settings(NOTIFICATION_BACKENDS=local):
        assert isinstance(get_backend("SMS"), LocalBackend)
        assert get_backend("SMS") is get_backend("SMS")
        with override_settings(NOTIFICATION_BACKENDS=twilio):
            assert isinstance(get_backend("SMS"), TwilioSmsBackend)
        assert isinstance(get_backend("SMS"), LocalBackend)


def test_get_backend_rejects_a_channel_without_backend() -> None:
    with (
        override_settings(NOTIFICATION_BACKENDS={"SMS": "notifications.backends.local.LocalBackend"}),
        pytest.raises(ImproperlyConfigured),
    ):
        get_backend("VOICE")
