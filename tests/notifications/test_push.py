"""The PUSH channel through the real pywebpush (encryption, VAPID signing) and requests; only the push services'
HTTP endpoints are replaced (the `responses` library). Each test browser has its own key pair and auth secret, and
decrypts what the push service received as a browser would."""

import base64
import io
import json
import logging
import os
import time
from dataclasses import dataclass, field

import http_ece
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import call_command
from django.utils import timezone
from py_vapid import Vapid, Vapid02

from care_events.choices import Channel, NotificationType
from care_events.notify import notification_request
from notifications.backends import OutgoingMessage, PermanentSendError, SendError, TransientSendError
from notifications.backends.push import TTL_SECONDS, WebPushBackend, application_server_key
from notifications.models import NotificationLog, NotificationStatus, PushSubscription
from tasks_app.notify import assignment_key
from tests.helpers import drain
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory

pytestmark = pytest.mark.django_db

SUBJECT = "Sequora: New HIGH task assigned"
BODY = "Sequora: new HIGH task for you: Call back within 2 h. Open: https://care.example/admin/tasks/1/"
VAPID_SUBJECT = "mailto:alerts@sequora.example"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


@dataclass
class Browser:
    """A browser's side of a push subscription: its key pair and auth secret, as PushManager.subscribe() makes."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscribe(self, nurse) -> PushSubscription:
        return PushSubscription.objects.create(
            nurse=nurse, endpoint=self.endpoint, p256dh=b64url(public_point(self.key)), auth=b64url(self.auth)
        )

    def read(self, body: bytes) -> dict:
        """Decrypt a push as the browser does (RFC 8291, aes128gcm: the salt and the sender's key are in the body)."""
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


@pytest.fixture
def vapid(settings) -> Vapid:
    key = Vapid()
    key.generate_keys()
    settings.VAPID_PRIVATE_KEY = b64url(key.private_key.private_numbers().private_value.to_bytes(32, "big"))
    settings.VAPID_PUBLIC_KEY = b64url(public_point(key.private_key))
    settings.VAPID_SUBJECT = VAPID_SUBJECT
    return key


@pytest.fixture(autouse=True)
def example_push_service(settings):
    """These tests' push service is push.example.com (its HTTP endpoint replaced): on the allow-list here."""
    settings.PUSH_ALLOWED_HOSTS = [*settings.PUSH_ALLOWED_HOSTS, "push.example.com"]


@pytest.fixture
def nurse():
    return NurseFactory(preferred_channel=Channel.PUSH)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def push(nurse, **overrides: object) -> OutgoingMessage:
    fields: dict = {"channel": "PUSH", "to": f"nurse:{nurse.pk}", "subject": SUBJECT, "body": BODY} | overrides
    return OutgoingMessage(**fields)


def jwt_claims(authorization: str) -> dict:
    token = authorization.split("t=", 1)[1].split(",", 1)[0]
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def send_failing(nurse, caplog: pytest.LogCaptureFixture) -> SendError:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SendError) as caught:
        WebPushBackend().send(push(nurse))
    for text in (str(caught.value), caplog.text):
        assert BODY not in text
        assert "push.example" not in text  # endpoints are capabilities: never logged
    return caught.value


def test_a_push_reaches_the_browser_encrypted_for_it_and_signed_with_vapid(vapid, nurse, mocked) -> None:
    browser = Browser("https://push.example.com/wpush/v2/abc")
    subscription = browser.subscribe(nurse)
    mocked.post(browser.endpoint, status=201)

    result = WebPushBackend().send(push(nurse))

    [call] = mocked.calls
    assert BODY.encode() not in call.request.body  # the push service cannot read it
    assert browser.read(call.request.body) == {"title": SUBJECT, "body": BODY}
    headers = call.request.headers
    assert headers["Content-Encoding"] == "aes128gcm"
    assert headers["TTL"] == str(TTL_SECONDS)
    assert headers["Urgency"] == "high"
    # RFC 8292: "vapid t=<JWT signed with our key>, k=<our public key>", for this push service's origin.
    authorization = headers["Authorization"]
    assert authorization.startswith("vapid t=")
    assert f"k={application_server_key(vapid)}" in authorization
    assert Vapid02.verify(authorization)
    claims = jwt_claims(authorization)
    assert (claims["aud"], claims["sub"]) == ("https://push.example.com", VAPID_SUBJECT)
    assert (result.provider, result.status) == ("webpush", "sent")
    assert result.message_id.startswith("webpush-")
    subscription.refresh_from_db()
    assert subscription.last_success_at is not None


def test_every_browser_of_the_nurse_gets_it_each_signed_for_its_own_push_service(vapid, nurse, mocked) -> None:
    phone = Browser("https://fcm.googleapis.com/fcm/send/phone")
    desk = Browser("https://updates.push.services.mozilla.com/wpush/v2/desk")
    for browser in (phone, desk):
        browser.subscribe(nurse)
        mocked.post(browser.endpoint, status=201)
    Browser("https://push.example.com/someone-else").subscribe(NurseFactory())

    WebPushBackend().send(push(nurse))

    by_url = {call.request.url: call.request for call in mocked.calls}
    assert set(by_url) == {phone.endpoint, desk.endpoint}
    for browser, origin in ((phone, "https://fcm.googleapis.com"), (desk, "https://updates.push.services.mozilla.com")):
        request = by_url[browser.endpoint]
        assert browser.read(request.body) == {"title": SUBJECT, "body": BODY}
        assert jwt_claims(request.headers["Authorization"])["aud"] == origin


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_forgot_is_deleted_and_none_left_is_permanent(
    vapid, nurse, mocked, caplog, status
) -> None:
    browser = Browser("https://push.example.com/gone")
    browser.subscribe(nurse)
    mocked.post(browser.endpoint, status=status, body="push subscription has unsubscribed or expired")

    error = send_failing(nurse, caplog)

    assert isinstance(error, PermanentSendError)
    assert error.code == "push:no_subscription"
    assert not PushSubscription.objects.filter(endpoint=browser.endpoint).exists()


def test_one_browser_gone_and_one_reached_counts_as_sent(vapid, nurse, mocked) -> None:
    gone, alive = Browser("https://push.example.com/gone"), Browser("https://push.example.com/alive")
    gone.subscribe(nurse)
    alive_subscription = alive.subscribe(nurse)
    mocked.post(gone.endpoint, status=410)
    mocked.post(alive.endpoint, status=201)

    result = WebPushBackend().send(push(nurse))

    assert result.status == "sent"
    assert list(PushSubscription.objects.filter(nurse=nurse)) == [alive_subscription]
    alive_subscription.refresh_from_db()
    assert alive_subscription.last_success_at is not None


def test_a_push_service_rate_limit_is_transient_with_its_retry_after(vapid, nurse, mocked, caplog) -> None:
    browser = Browser("https://push.example.com/busy")
    browser.subscribe(nurse)
    mocked.post(browser.endpoint, status=429, headers={"Retry-After": "30"})

    error = send_failing(nurse, caplog)

    assert isinstance(error, TransientSendError)
    assert (error.code, error.retry_after, error.in_doubt) == ("http:429", 30.0, False)
    assert PushSubscription.objects.filter(endpoint=browser.endpoint).exists()


def test_a_push_service_error_is_transient(vapid, nurse, mocked, caplog) -> None:
    browser = Browser("https://push.example.com/down")
    browser.subscribe(nurse)
    mocked.post(browser.endpoint, status=500)

    error = send_failing(nurse, caplog)

    assert isinstance(error, TransientSendError)
    assert error.code == "http:500"


def test_no_answer_from_the_push_service_is_transient_and_in_doubt(vapid, nurse, mocked, caplog) -> None:
    browser = Browser("https://push.example.com/unreachable")
    browser.subscribe(nurse)
    mocked.post(browser.endpoint, body=requests.ConnectTimeout("timed out"))

    error = send_failing(nurse, caplog)

    assert isinstance(error, TransientSendError)
    assert (error.code, error.in_doubt) == ("network", True)


def test_a_push_the_service_refuses_is_permanent(vapid, nurse, mocked, caplog) -> None:
    browser = Browser("https://push.example.com/forbidden")
    browser.subscribe(nurse)
    mocked.post(browser.endpoint, status=403, body="VAPID credentials do not match the subscription")

    error = send_failing(nurse, caplog)

    assert isinstance(error, PermanentSendError)
    assert error.code == "http:403"
    assert PushSubscription.objects.filter(endpoint=browser.endpoint).exists()


def test_one_browser_out_of_reach_is_worth_a_retry_even_if_another_refused(vapid, nurse, mocked, caplog) -> None:
    refused, busy = Browser("https://push.example.com/refused"), Browser("https://push.example.com/busy")
    refused.subscribe(nurse)
    busy.subscribe(nurse)
    mocked.post(refused.endpoint, status=400)
    mocked.post(busy.endpoint, status=503, headers={"Retry-After": "120"})

    error = send_failing(nurse, caplog)

    assert isinstance(error, TransientSendError)
    assert (error.code, error.retry_after) == ("http:503", 120.0)


def test_a_nurse_with_no_browser_registered_is_permanent_and_nothing_is_sent(vapid, nurse, mocked, caplog) -> None:
    error = send_failing(nurse, caplog)

    assert isinstance(error, PermanentSendError)
    assert error.code == "push:no_subscription"
    assert len(mocked.calls) == 0


def test_browsers_left_when_the_time_is_up_wait_for_the_next_message(vapid, nurse, mocked, settings) -> None:
    # Half the lease is the budget: 1 s here, which the first (slowest) browser uses up.
    settings.NOTIFICATION_SEND_LEASE_SECONDS = 2
    slow, next_one = Browser("https://push.example.com/slow"), Browser("https://push.example.com/next")
    slow.subscribe(nurse)
    next_one.subscribe(nurse)
    PushSubscription.objects.filter(endpoint=slow.endpoint).update(last_success_at=timezone.now())  # tried first

    def slow_answer(request):
        time.sleep(1.1)
        return 201, {}, ""

    mocked.add_callback(responses.POST, slow.endpoint, callback=slow_answer)
    mocked.post(next_one.endpoint, status=201)

    result = WebPushBackend().send(push(nurse))

    assert result.status == "sent"
    assert [call.request.url for call in mocked.calls] == [slow.endpoint]


@pytest.mark.parametrize(
    "setting",
    [
        {"VAPID_PRIVATE_KEY": ""},
        {"VAPID_PUBLIC_KEY": ""},
        {"VAPID_PRIVATE_KEY": "not a key!"},
        {"VAPID_PUBLIC_KEY": b64url(public_point(ec.generate_private_key(ec.SECP256R1())))},  # another pair's
        {"VAPID_SUBJECT": "alerts@sequora.example"},  # not a mailto: URL
    ],
    ids=["no-private-key", "no-public-key", "unreadable-private-key", "mismatched-pair", "bad-subject"],
)
def test_push_without_usable_vapid_settings_is_not_configured(vapid, nurse, mocked, caplog, settings, setting) -> None:
    browser = Browser("https://push.example.com/abc")
    browser.subscribe(nurse)
    mocked.post(browser.endpoint, status=201)
    for name, value in setting.items():
        setattr(settings, name, value)

    error = send_failing(nurse, caplog)

    assert isinstance(error, PermanentSendError)
    assert error.code == "push:not_configured"
    assert len(mocked.calls) == 0


@pytest.mark.parametrize("address", ["+14155550123", "nurse:", "nurse:abc", "patient:1"])
def test_an_address_that_is_not_a_nurse_is_permanent(vapid, address) -> None:
    with pytest.raises(PermanentSendError) as caught:
        WebPushBackend().send(OutgoingMessage(channel="PUSH", to=address, body=BODY, subject=SUBJECT))

    assert caught.value.code == "push:bad_address"


def test_generate_vapid_keys_prints_a_pair_pywebpush_and_browsers_can_use() -> None:
    out = io.StringIO()

    call_command("generate_vapid_keys", stdout=out)

    lines = dict(line.split("=", 1) for line in out.getvalue().splitlines())
    assert set(lines) == {"VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"}
    key = Vapid.from_string(private_key=lines["VAPID_PRIVATE_KEY"])
    assert application_server_key(key) == lines["VAPID_PUBLIC_KEY"]
    point = base64.urlsafe_b64decode(lines["VAPID_PUBLIC_KEY"] + "=")
    assert len(point) == 65
    assert point[0] == 4  # uncompressed, as PushManager.subscribe() takes it


def test_a_nurse_who_prefers_push_gets_her_task_assignment_in_her_browser(vapid, nurse, mocked, settings) -> None:
    settings.NOTIFICATION_BACKENDS = {
        **settings.NOTIFICATION_BACKENDS,
        "PUSH": "notifications.backends.push.WebPushBackend",
    }
    browser = Browser("https://push.example.com/wpush/v2/nurse-laptop")
    browser.subscribe(nurse)
    mocked.post(browser.endpoint, status=201)
    task = EscalationTaskFactory(assigned_to=nurse, status="ASSIGNED", assigned_at=timezone.now())

    notification_request(
        notification_type=NotificationType.TASK_ASSIGNED,
        dedupe_key=assignment_key(task_id=task.pk, nurse_id=nurse.pk, assigned_at=task.assigned_at),
        recipient_nurse_id=nurse.pk,
        task_id=task.pk,
    )
    drain()

    [call] = mocked.calls
    log = NotificationLog.objects.get(recipient_nurse=nurse, type=NotificationType.TASK_ASSIGNED)
    assert browser.read(call.request.body) == {"title": log.subject, "body": log.body}
    assert log.subject and log.body
    assert (log.channel, log.status, log.provider) == (Channel.PUSH, NotificationStatus.SENT, "webpush")
    assert log.provider_message_id.startswith("webpush-")
