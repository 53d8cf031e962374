"""Nurses registering their browsers for push notifications: the body is the browser's PushSubscription.toJSON()."""

import base64
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from notifications.models import PushSubscription
from notifications.services.push import MAX_SUBSCRIPTIONS_PER_NURSE, push_subscription_register
from tests.api.conftest import client_for
from tests.api.factories import AgentUserFactory, ShiftStaffUserFactory
from tests.tasks_app.factories import NurseFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/push-subscriptions/"
UNREGISTER_URL = "/api/v1/push-subscriptions/unregister/"
VAPID_KEY_URL = "/api/v1/push-subscriptions/vapid-public-key/"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:APA91bHqjZxM0VImWWqDRN7U0a3AycjUf4O"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def browser_keys() -> dict[str, str]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}


def subscription_json(endpoint: str = ENDPOINT, **keys: str) -> dict:
    """What `JSON.stringify(subscription)` gives in a browser."""
    return {"endpoint": endpoint, "expirationTime": None, "keys": browser_keys() | keys}


def test_a_nurse_registers_her_browser(nurse_a):
    body = subscription_json()

    response = client_for(nurse_a.user).post(URL, body, format="json")

    assert response.status_code == 201, response.content
    subscription = PushSubscription.objects.get()
    assert (subscription.nurse, subscription.endpoint) == (nurse_a, ENDPOINT)
    assert (subscription.p256dh, subscription.auth) == (body["keys"]["p256dh"], body["keys"]["auth"])
    assert response.json() == {
        "id": subscription.pk,
        "endpoint": ENDPOINT,
        "created_at": subscription.created_at.isoformat().replace("+00:00", "Z"),
        "last_success_at": None,
    }


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk",
        "https://web.push.apple.com/QGuQyavXutnMH",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAD",
    ],
)
def test_the_known_push_services_are_accepted(nurse_a, endpoint):
    response = client_for(nurse_a.user).post(URL, subscription_json(endpoint), format="json")

    assert response.status_code == 201, response.content


def test_registering_the_same_endpoint_again_updates_its_keys(nurse_a):
    client = client_for(nurse_a.user)
    client.post(URL, subscription_json(), format="json")
    renewed = subscription_json()

    response = client.post(URL, renewed, format="json")

    assert response.status_code == 200
    subscription = PushSubscription.objects.get()
    assert (subscription.p256dh, subscription.auth) == (renewed["keys"]["p256dh"], renewed["keys"]["auth"])


def test_a_nurse_cannot_take_over_another_nurses_push_endpoint(nurse_a, nurse_b):
    """Nurse B, knowing A's endpoint, would otherwise have A's alerts sent with B's keys: A would get none."""
    first = subscription_json()
    client_for(nurse_a.user).post(URL, first, format="json")

    response = client_for(nurse_b.user).post(URL, subscription_json(), format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "endpoint_taken"
    subscription = PushSubscription.objects.get()
    assert (subscription.nurse, subscription.p256dh, subscription.auth) == (
        nurse_a,
        first["keys"]["p256dh"],
        first["keys"]["auth"],
    )


def test_a_shared_workstation_re_subscribes_with_a_new_endpoint_for_the_next_nurse(nurse_a, nurse_b):
    client_for(nurse_a.user).post(URL, subscription_json(), format="json")

    response = client_for(nurse_b.user).post(URL, subscription_json(ENDPOINT + "-renewed"), format="json")

    assert response.status_code == 201
    assert sorted(PushSubscription.objects.values_list("nurse", flat=True)) == sorted([nurse_a.pk, nurse_b.pk])


def test_a_nurse_may_register_several_browsers(nurse_a):
    client = client_for(nurse_a.user)

    for device in ("phone", "desk"):
        assert client.post(URL, subscription_json(f"{ENDPOINT}-{device}"), format="json").status_code == 201

    assert nurse_a.push_subscriptions.count() == 2


def test_expiration_time_may_be_left_out(nurse_a):
    body = subscription_json()
    del body["expirationTime"]

    assert client_for(nurse_a.user).post(URL, body, format="json").status_code == 201


@pytest.mark.parametrize(
    ("keys", "field"),
    [
        ({"p256dh": "not base64url!"}, "keys.p256dh"),
        ({"p256dh": b64url(os.urandom(65))}, "keys.p256dh"),  # 65 bytes, but not a point on the curve
        ({"p256dh": b64url(b"\x04" + bytes(32))}, "keys.p256dh"),  # too short
        ({"auth": b64url(os.urandom(8))}, "keys.auth"),
        ({"auth": ""}, "keys.auth"),
    ],
    ids=["p256dh-not-base64url", "p256dh-not-a-point", "p256dh-short", "auth-short", "auth-empty"],
)
def test_bad_keys_are_400_naming_the_key(nurse_a, keys, field):
    body = subscription_json(**keys)

    response = client_for(nurse_a.user).post(URL, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == [field]
    submitted = body["keys"][field.split(".")[1]]
    assert not submitted or submitted not in str(error)  # never quoted back
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",
        "https://127.0.0.1/push",
        "https://[::1]/push",
        "https://localhost/push",
        "https://user:secret@fcm.googleapis.com/fcm/send/abc",
        "not a url",
        # Issue 19 row 3: names that resolve inward were accepted (the check read the URL's text, not the address).
        "https://127.0.0.1.nip.io/push",
        "https://localtest.me:6391/push",
        "https://kubernetes.default.svc/push",
        "https://fcm.googleapis.com.attacker.example/push",
        "https://notpush.apple.com/push",
    ],
    ids=[
        "http",
        "ipv4-literal",
        "ipv6-literal",
        "localhost",
        "credentials",
        "not-a-url",
        "nip-io",
        "localtest-me",
        "cluster-service",
        "lookalike-suffix",
        "lookalike-apple",
    ],
)
def test_an_endpoint_that_is_not_an_https_push_service_is_400(nurse_a, endpoint):
    response = client_for(nurse_a.user).post(URL, subscription_json(endpoint), format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["endpoint"]
    assert not PushSubscription.objects.exists()


def test_missing_keys_and_unknown_fields_are_400_naming_them(nurse_a):
    response = client_for(nurse_a.user).post(URL, {"endpoint": ENDPOINT, "options": {}}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"keys", "options"}


def test_a_repeated_registration_with_an_idempotency_key_is_replayed(nurse_a):
    client = client_for(nurse_a.user)
    body = subscription_json()

    first = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="register-1")
    again = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="register-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_nurse_unregisters_her_browser(nurse_a):
    client = client_for(nurse_a.user)
    client.post(URL, subscription_json(), format="json")

    response = client.post(UNREGISTER_URL, {"endpoint": ENDPOINT}, format="json")

    assert response.status_code == 204
    assert not PushSubscription.objects.exists()


def test_another_nurses_browser_cannot_be_unregistered_and_looks_missing(nurse_a, nurse_b):
    client_for(nurse_a.user).post(URL, subscription_json(), format="json")
    client = client_for(nurse_b.user)

    theirs = client.post(UNREGISTER_URL, {"endpoint": ENDPOINT}, format="json")
    unknown = client.post(UNREGISTER_URL, {"endpoint": f"{ENDPOINT}-unknown"}, format="json")

    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json()
    assert PushSubscription.objects.get().nurse == nurse_a


def test_the_vapid_public_key_is_given_to_nurses(nurse_a, settings):
    settings.VAPID_PUBLIC_KEY = (
        "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
    )

    response = client_for(nurse_a.user).get(VAPID_KEY_URL)

    assert response.status_code == 200
    assert response.json() == {"public_key": settings.VAPID_PUBLIC_KEY}


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", URL, subscription_json()),
        ("POST", UNREGISTER_URL, {"endpoint": ENDPOINT}),
        ("GET", VAPID_KEY_URL, None),
    ],
    ids=["register", "unregister", "vapid-key"],
)
@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("agent", 403), ("staff_shifts_only", 403)],
    ids=["anonymous", "agent", "staff-shifts-only"],
)
def test_only_nurses_reach_the_push_endpoints(method, url, body, role, expected):
    user = {"anonymous": lambda: None, "agent": AgentUserFactory, "staff_shifts_only": ShiftStaffUserFactory}[role]()
    client = client_for(user)

    response = client.get(url) if method == "GET" else client.post(url, body, format="json")

    assert response.status_code == expected
    assert set(response.json()) == {"error"}
    assert not PushSubscription.objects.exists()


def test_a_nurse_keeps_her_most_recently_heard_from_browsers():
    nurse = NurseFactory()
    for n in range(MAX_SUBSCRIPTIONS_PER_NURSE):
        push_subscription_register(nurse=nurse, endpoint=f"{ENDPOINT}-{n}", **browser_keys())
    # The first one took a push lately; the second is the one heard from least lately.
    PushSubscription.objects.filter(endpoint=f"{ENDPOINT}-0").update(last_success_at="2999-01-01T00:00:00Z")

    _, created = push_subscription_register(nurse=nurse, endpoint=f"{ENDPOINT}-new", **browser_keys())

    assert created
    kept = set(nurse.push_subscriptions.values_list("endpoint", flat=True))
    assert len(kept) == MAX_SUBSCRIPTIONS_PER_NURSE
    assert {f"{ENDPOINT}-0", f"{ENDPOINT}-new"} <= kept
    assert f"{ENDPOINT}-1" not in kept
