"""The EMAIL channel through Django's mail API and the real Anymail ESP backends; only the ESP's HTTP API is
replaced (the `responses` library), so the request SendGrid or Postmark would receive is checked as sent."""

import json
import logging
import smtplib
import socket

import pytest
import requests
import responses
from django.core import mail
from django.test import override_settings

from notifications.backends import OutgoingMessage, PermanentSendError, SendError, TransientSendError
from notifications.backends.email import EmailBackend
from notifications.backends.errors import anymail_error

NURSE_EMAIL = "grace.hopper@hospital.example"
SUBJECT = "Sequora: New HIGH task assigned"
BODY = "Sequora: new HIGH task for you: Call back within 2 h. Open: https://care.example/admin/tasks/1/"
FROM = "Sequora Alerts <alerts@sequora.example>"
SENDGRID_URL = "https://api.sendgrid.com/v3/mail/send"
POSTMARK_URL = "https://api.postmarkapp.com/email"

sendgrid = override_settings(
    EMAIL_BACKEND="anymail.backends.sendgrid.EmailBackend",
    ANYMAIL={"SENDGRID_API_KEY": "test-key"},
    DEFAULT_FROM_EMAIL=FROM,
)
postmark = override_settings(
    EMAIL_BACKEND="anymail.backends.postmark.EmailBackend",
    ANYMAIL={"POSTMARK_SERVER_TOKEN": "test-token"},
    DEFAULT_FROM_EMAIL=FROM,
)


def email(**overrides: object) -> OutgoingMessage:
    fields: dict = {"channel": "EMAIL", "to": NURSE_EMAIL, "subject": SUBJECT, "body": BODY} | overrides
    return OutgoingMessage(**fields)


def send_failing(caplog: pytest.LogCaptureFixture) -> SendError:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SendError) as caught:
        EmailBackend().send(email())
    error = caught.value
    # No address nor body in the error or the logs, and the ESP's exception (which quotes the payload) is not
    # chained into tracebacks.
    for text in (str(error), error.code, caplog.text):
        assert NURSE_EMAIL not in text
        assert BODY not in text
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    return error


@sendgrid
@responses.activate
def test_an_email_goes_to_sendgrid_with_its_recipient_sender_subject_and_body() -> None:
    responses.post(SENDGRID_URL, status=202, headers={"X-Message-Id": "sg-abc123"})

    result = EmailBackend().send(email())

    [call] = responses.calls
    assert call.request.headers["Authorization"] == "Bearer test-key"
    sent = json.loads(call.request.body)
    [personalization] = sent["personalizations"]
    assert personalization["to"] == [{"email": NURSE_EMAIL}]
    assert sent["from"] == {"email": "alerts@sequora.example", "name": "Sequora Alerts"}
    assert sent["subject"] == SUBJECT
    assert sent["content"] == [{"type": "text/plain", "value": BODY}]
    # The id Anymail reports for SendGrid: the anymail_id it sent along as a custom arg, which SendGrid's event
    # webhooks carry back (SendGrid's own X-Message-Id is not what Anymail's tracking matches on).
    assert (result.provider, result.status) == ("email", "sent")
    assert result.message_id == personalization["custom_args"]["anymail_id"]


@sendgrid
@responses.activate
def test_a_sendgrid_rate_limit_is_transient_and_its_retry_after_honoured(caplog: pytest.LogCaptureFixture) -> None:
    responses.post(SENDGRID_URL, status=429, headers={"Retry-After": "30"}, json={"errors": [{"message": NURSE_EMAIL}]})

    error = send_failing(caplog)

    assert isinstance(error, TransientSendError)
    assert (error.code, error.retry_after, error.in_doubt) == ("http:429", 30.0, False)


@sendgrid
@responses.activate
def test_a_sendgrid_server_error_is_transient(caplog: pytest.LogCaptureFixture) -> None:
    responses.post(SENDGRID_URL, status=500, body="oops")

    error = send_failing(caplog)

    assert isinstance(error, TransientSendError)
    assert error.code == "http:500"
    assert error.retry_after is None


@sendgrid
@responses.activate
def test_a_request_sendgrid_refuses_is_permanent(caplog: pytest.LogCaptureFixture) -> None:
    responses.post(
        SENDGRID_URL,
        status=400,
        json={"errors": [{"message": f"Does not contain a valid address: {NURSE_EMAIL}", "field": "to"}]},
    )

    error = send_failing(caplog)

    assert isinstance(error, PermanentSendError)
    assert error.code == "http:400"


@sendgrid
@responses.activate
def test_no_answer_from_sendgrid_is_transient_and_in_doubt(caplog: pytest.LogCaptureFixture) -> None:
    responses.post(SENDGRID_URL, body=requests.ConnectionError("connection reset"))

    error = send_failing(caplog)

    assert isinstance(error, TransientSendError)
    assert (error.code, error.in_doubt) == ("network", True)


@postmark
@responses.activate
def test_a_recipient_the_esp_rejects_is_permanent(caplog: pytest.LogCaptureFixture) -> None:
    # Postmark's answer for an address that bounced before; Anymail reports the recipient "rejected".
    responses.post(
        POSTMARK_URL,
        status=422,
        json={
            "ErrorCode": 406,
            "Message": "You tried to send to a recipient that has been marked as inactive.\n"
            f"Found inactive addresses: {NURSE_EMAIL}.\n"
            "Inactive recipients are ones that have generated a hard bounce or a spam complaint.",
        },
    )

    error = send_failing(caplog)

    assert isinstance(error, PermanentSendError)
    assert error.code == "email:refused"


@override_settings(
    EMAIL_BACKEND="anymail.backends.postmark.EmailBackend",
    ANYMAIL={"POSTMARK_SERVER_TOKEN": "test-token", "IGNORE_RECIPIENT_STATUS": True},
)
@responses.activate
def test_a_rejected_recipient_is_permanent_even_when_anymail_is_told_not_to_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    responses.post(
        POSTMARK_URL,
        status=422,
        json={
            "ErrorCode": 406,
            "Message": f"Found inactive addresses: {NURSE_EMAIL}. Inactive recipients are ones that bounced.",
        },
    )

    error = send_failing(caplog)

    assert isinstance(error, PermanentSendError)
    assert error.code == "email:refused"


@postmark
@responses.activate
def test_postmarks_message_id_is_kept() -> None:
    responses.post(
        POSTMARK_URL,
        status=200,
        json={
            "To": NURSE_EMAIL,
            "SubmittedAt": "2026-01-01T00:00:00Z",
            "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
            "ErrorCode": 0,
            "Message": "OK",
        },
    )

    result = EmailBackend().send(email())

    assert result.message_id == "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"
    assert json.loads(responses.calls[0].request.body)["To"] == NURSE_EMAIL


@override_settings(EMAIL_BACKEND="anymail.backends.sendgrid.EmailBackend", ANYMAIL={})  # no API key
def test_an_esp_without_its_key_is_not_configured(caplog: pytest.LogCaptureFixture) -> None:
    error = send_failing(caplog)

    assert isinstance(error, PermanentSendError)
    assert error.code == "email:not_configured"


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", DEFAULT_FROM_EMAIL=FROM)
def test_outside_anymail_the_message_gets_an_id_of_ours() -> None:
    result = EmailBackend().send(email())

    [sent] = mail.outbox
    assert (sent.to, sent.from_email, sent.subject, sent.body) == ([NURSE_EMAIL], FROM, SUBJECT, BODY)
    assert result.message_id.startswith("email-")
    assert len(result.message_id) == len("email-") + 32


def test_an_smtp_server_out_of_reach_is_transient(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=port
    ):
        error = send_failing(caplog)

    assert isinstance(error, TransientSendError)
    assert error.code == "network"


def test_a_subject_with_a_newline_is_refused_before_sending() -> None:
    with pytest.raises(PermanentSendError) as caught:
        EmailBackend().send(email(subject="Sequora\nBcc: someone@elsewhere.example"))

    assert caught.value.code == "email:bad_header"


def test_a_nurse_without_an_address_is_permanent() -> None:
    with pytest.raises(PermanentSendError) as caught:
        EmailBackend().send(email(to=""))

    assert caught.value.code == "email:no_address"


@sendgrid
@responses.activate
def test_an_address_anymail_cannot_parse_is_permanent(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(PermanentSendError) as caught:
        EmailBackend().send(email(to="grace.hopper@"))

    assert caught.value.code == "email:invalid_address"
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (smtplib.SMTPRecipientsRefused({NURSE_EMAIL: (550, b"no such user")}), PermanentSendError, "email:refused"),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), PermanentSendError, "smtp:535"),
        (smtplib.SMTPDataError(554, b"rejected as spam"), PermanentSendError, "smtp:554"),
        (smtplib.SMTPDataError(451, b"try again later"), TransientSendError, "smtp:451"),
        (smtplib.SMTPServerDisconnected("gone"), TransientSendError, "network"),
        (TimeoutError("timed out"), TransientSendError, "network"),
    ],
    ids=["recipient-refused", "auth-failed", "data-rejected", "try-later", "disconnected", "timeout"],
)
def test_smtp_errors_are_sorted_by_the_servers_reply(exc: Exception, kind: type, code: str) -> None:
    error = anymail_error(exc)

    assert isinstance(error, kind)
    assert error.code == code
    assert NURSE_EMAIL not in str(error)
