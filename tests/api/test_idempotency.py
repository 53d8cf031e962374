"""Idempotency-Key: the same key and body replay the first response with one side effect, even under a race of
20 identical requests; the same key with another body is 422."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from care_events.models import InteractionResponse, Patient
from care_events.platform.api_clients.idempotency import seal
from care_events.platform.api_clients.models import IdempotencyRecord
from care_events.platform.bus.models import Event
from config.celery_app import app as celery_app
from tasks_app.models import EscalationTask
from tests.api.conftest import key_for
from tests.care_events.factories import AgentInteractionFactory
from tests.tasks_app.factories import NurseShiftFactory

PATIENT = {"first_name": "Ada", "last_name": "Moreno", "date_of_birth": "1948-05-17", "phone": "+12025550143"}
RESPONSE = {"text": "Short of breath", "severity": "HIGH", "reason_codes": ["HF_BREATHING_WORSE"]}


@pytest.fixture
def eager_celery():
    """Committed events are dispatched in the request's thread rather than published to the test broker (these
    tests commit for real), so no message of ours is left in Redis for the worker tests to find."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.mark.django_db
def test_the_same_key_and_body_replay_the_first_response(agent_client):
    first = agent_client.post("/api/v1/patients/", PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="create-ada")
    again = agent_client.post("/api/v1/patients/", PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="create-ada")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content  # byte for byte
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Patient.objects.count() == 1


@pytest.mark.django_db
def test_the_stored_response_holds_no_phi_in_clear(agent_client, settings):
    """Issue 19 row 15: records kept the response bodies (names, dates of birth, phones) for 24 h. The record now holds
    ciphertext only, and a replay after the secret key was rotated (the old one a fallback) still answers."""
    first = agent_client.post("/api/v1/patients/", PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="create-ada")
    stored = IdempotencyRecord.objects.get().response_body
    for value in (*PATIENT.values(), "Ada", "1948", "2025550143"):
        assert value not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token

    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "another-key-" + "x" * 50
    again = agent_client.post("/api/v1/patients/", PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="create-ada")
    assert (again.status_code, again.content) == (201, first.content)


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_422(agent_client):
    agent_client.post("/api/v1/patients/", PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="create-ada")

    other = agent_client.post(
        "/api/v1/patients/", {**PATIENT, "first_name": "Bea"}, format="json", HTTP_IDEMPOTENCY_KEY="create-ada"
    )

    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Patient.objects.values_list("first_name", flat=True)) == ["Ada"]


@pytest.mark.django_db
def test_the_same_key_on_another_endpoint_is_422(agent_client):
    interaction = AgentInteractionFactory()
    body = {"outcome": "OK"}
    agent_client.post(f"/api/v1/interactions/{interaction.pk}/complete/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")

    response = agent_client.post(
        f"/api/v1/interactions/{interaction.pk}/responses/", body, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert response.status_code == 422


@pytest.mark.django_db
def test_keys_belong_to_their_user(agent_client, another_agent_client):
    mine = agent_client.post("/api/v1/patients/", PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    theirs = another_agent_client.post("/api/v1/patients/", PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert Patient.objects.count() == 2


@pytest.mark.django_db
def test_an_error_is_not_stored_so_the_corrected_retry_runs(agent_client):
    bad = agent_client.post(
        "/api/v1/patients/", {**PATIENT, "phone": "12"}, format="json", HTTP_IDEMPOTENCY_KEY="create-ada"
    )
    same_bad = agent_client.post(
        "/api/v1/patients/", {**PATIENT, "phone": "12"}, format="json", HTTP_IDEMPOTENCY_KEY="create-ada"
    )

    assert (bad.status_code, same_bad.status_code) == (400, 400)
    assert same_bad.content == bad.content
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_without_a_key_each_post_is_a_new_request(agent_client):
    agent_client.post("/api/v1/patients/", PATIENT, format="json")
    agent_client.post("/api/v1/patients/", PATIENT, format="json")

    assert Patient.objects.count() == 2


def _post_in_thread(token: str, url: str, body: dict, key: str, barrier: threading.Barrier | None = None):
    """One client in its own thread, hence its own database connection, closed at the end."""
    try:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        if barrier is not None:
            barrier.wait()
        response = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        return response.status_code, response.content, response.headers.get("Idempotent-Replayed")
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_requests_cause_one_side_effect(agent, eager_celery):
    NurseShiftFactory()
    interaction = AgentInteractionFactory()
    token = key_for(agent)
    url = f"/api/v1/interactions/{interaction.pk}/responses/"
    barrier = threading.Barrier(20)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: _post_in_thread(token, url, RESPONSE, "response-1", barrier), range(20)))

    statuses = {status for status, _, _ in results}
    bodies = {content for _, content, _ in results}
    assert statuses == {201}
    assert len(bodies) == 1  # all twenty answers are the same bytes
    assert sorted(replayed or "" for _, _, replayed in results) == [""] + ["true"] * 19
    assert InteractionResponse.objects.count() == 1
    assert Event.objects.filter(name="interaction/response_received").count() == 1
    assert EscalationTask.objects.count() == 1  # and one escalation downstream
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_twin_waits_for_the_first_request_then_replays_it(agent):
    """The race in slow motion: a first request holds the key (its transaction is open); a twin blocks on the
    unique index until the first commits, then answers with the first response instead of running."""
    token = key_for(agent)
    url = "/api/v1/patients/"
    stored = '{"id": "from-the-first-request"}'
    twin = ThreadPoolExecutor(max_workers=1)
    with transaction.atomic():
        record = IdempotencyRecord.objects.create(user=agent, key="k", fingerprint=_fingerprint_of(token, url, PATIENT))
        waiting = twin.submit(_post_in_thread, token, url, PATIENT, "k")
        time.sleep(0.5)
        assert not waiting.done()  # blocked on the uncommitted row
        record.status_code, record.response_body = 201, seal(stored)
        record.save()
    status, content, replayed = waiting.result(timeout=10)
    twin.shutdown()

    assert (status, replayed) == (201, "true")
    assert content == b'{"id":"from-the-first-request"}'
    assert not Patient.objects.exists()  # the twin did not run the request


@pytest.mark.django_db(transaction=True)
def test_a_twin_runs_the_request_itself_when_the_first_fails(agent, eager_celery):
    token = key_for(agent)
    url = "/api/v1/patients/"
    twin = ThreadPoolExecutor(max_workers=1)
    with pytest.raises(RuntimeError), transaction.atomic():
        IdempotencyRecord.objects.create(user=agent, key="k", fingerprint=_fingerprint_of(token, url, PATIENT))
        waiting = twin.submit(_post_in_thread, token, url, PATIENT, "k")
        time.sleep(0.5)
        raise RuntimeError("the first request failed: its transaction rolls back, the record with it")
    status, _, replayed = waiting.result(timeout=10)
    twin.shutdown()

    assert (status, replayed) == (201, None)
    assert Patient.objects.count() == 1


def _fingerprint_of(token: str, url: str, body: dict) -> str:
    """The fingerprint the API computes for this request (read back from a record it makes in a rolled-back
    transaction), so the tests above can play the first request themselves."""
    with transaction.atomic():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="probe")
        fingerprint = IdempotencyRecord.objects.get(key="probe").fingerprint
        transaction.set_rollback(True)
    return fingerprint
