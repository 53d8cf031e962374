"""Bad input gets one JSON error format and a clear 4xx naming the field, changes nothing, never echoes a value."""

import datetime as dt
import time
import uuid

import pytest
from django.utils import timezone

from care_events.models import AgentInteraction, Patient
from care_events.platform.bus.models import Event
from tasks_app.models import EscalationTask
from tests.care_events.factories import AgentInteractionFactory, EpisodeFactory, PatientFactory

pytestmark = pytest.mark.django_db

PATIENT = {"first_name": "Ada", "last_name": "Moreno", "date_of_birth": "1948-05-17", "phone": "+12025550143"}
# A marker in submitted values: it must never come back in an error (values are PHI).
PHI = "Moreno-1948-SECRET"


def error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    return body["error"]


def test_malformed_json_is_400(agent_client):
    response = agent_client.post("/api/v1/patients/", '{"first_name": "Ada",', content_type="application/json")

    assert response.status_code == 400
    assert error(response)["code"] == "malformed_json"
    assert not Patient.objects.exists()


def test_a_json_value_that_is_not_an_object_is_400(agent_client):
    response = agent_client.post("/api/v1/patients/", "[1, 2]", content_type="application/json")

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["non_field_errors"]


def test_a_lone_surrogate_is_malformed_not_a_server_error(agent_client):
    body = '{"first_name": "\\ud800", "last_name": "M", "date_of_birth": "1948-05-17", "phone": "+12025550143"}'

    response = agent_client.post("/api/v1/patients/", body, content_type="application/json")

    assert response.status_code == 400
    assert error(response)["code"] == "malformed_json"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/plain", "first_name=Ada"), ("application/x-www-form-urlencoded", "first_name=Ada")],
)
def test_a_body_that_is_not_json_is_415(agent_client, content_type, body):
    response = agent_client.post("/api/v1/patients/", body, content_type=content_type)

    assert response.status_code == 415
    assert error(response)["code"] == "unsupported_media_type"
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("path", "body", "forbidden"),
    [
        ("patients/", {**PATIENT, "id": str(uuid.uuid4()), "sms_opted_out_at": None}, ["id", "sms_opted_out_at"]),
        ("patients/", {**PATIENT, "nickname": "A"}, ["nickname"]),
        ("interactions/", {"status": "COMPLETED", "severity": "HIGH"}, ["severity", "status"]),
    ],
)
def test_unknown_or_read_only_fields_are_400_naming_each(agent_client, path, body, forbidden):
    if path == "interactions/":
        body = {**body, "episode_id": str(EpisodeFactory().pk)}

    response = agent_client.post(f"/api/v1/{path}", body, format="json")

    assert response.status_code == 400
    fields = error(response)["fields"]
    assert sorted(fields) == forbidden
    assert all(messages == ["Unknown or read-only field."] for messages in fields.values())
    assert not Patient.objects.filter(first_name="Ada").exists()
    assert not AgentInteraction.objects.exists()


def test_a_flag_cannot_set_status_or_assignee(agent_client):
    interaction = AgentInteractionFactory()
    body = {
        "severity": "HIGH",
        "reason_codes": ["HF_SWELLING"],
        "action_type": "NURSE_CALLBACK_2H",
        "status": "RESOLVED",
        "assigned_to": 1,
    }

    response = agent_client.post(f"/api/v1/interactions/{interaction.pk}/raise-flag/", body, format="json")

    assert response.status_code == 400
    assert sorted(error(response)["fields"]) == ["assigned_to", "status"]
    assert not EscalationTask.objects.exists()


def test_an_episode_cannot_be_created_discharged(agent_client):
    body = {
        "patient_id": str(EpisodeFactory().patient_id),
        "admitted_at": "2026-01-01T00:00:00Z",
        "discharged_at": "2026-01-02T00:00:00Z",
        "condition": "HF",
        "facility": "GENERAL",
    }

    response = agent_client.post("/api/v1/episodes/", body, format="json")

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["discharged_at"]


@pytest.mark.parametrize("name", ["patient/exploded", "patient/discharge"])
def test_an_unknown_event_name_is_400_listing_the_allowed_names(agent_client, name):
    response = agent_client.post("/api/v1/events/", {"name": name, "data": {}}, format="json")

    assert response.status_code == 400
    assert error(response)["fields"] == {"name": ["Unknown event name. Allowed: patient/discharged."]}
    assert not Event.objects.exists()


@pytest.mark.parametrize("name", ["task/sla_breach", "task/created", "notification/send"])
def test_an_internal_event_is_403(agent_client, name):
    response = agent_client.post("/api/v1/events/", {"name": name, "data": {"task_id": str(uuid.uuid4())}})

    assert response.status_code == 403
    assert error(response)["code"] == "event_not_allowed"
    assert not Event.objects.exists()


def test_an_event_payload_error_names_the_nested_field(agent_client):
    response = agent_client.post(
        "/api/v1/events/", {"name": "patient/discharged", "data": {"episode_id": PHI}}, format="json"
    )

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["data.episode_id"]
    assert PHI not in response.content.decode()


def test_a_discharge_event_for_an_unknown_episode_is_400_and_records_nothing(agent_client):
    response = agent_client.post(
        "/api/v1/events/", {"name": "patient/discharged", "data": {"episode_id": str(uuid.uuid4())}}, format="json"
    )

    assert response.status_code == 400
    assert error(response)["fields"] == {"data.episode_id": ["No episode has this id."]}
    assert not Event.objects.exists()


@pytest.mark.parametrize("phone", ["+1 202-555-0143", "(202) 555-0143", "202.555.0143", "+12025550143"])
def test_any_notation_of_a_valid_phone_is_stored_in_e164(agent_client, phone):
    response = agent_client.post("/api/v1/patients/", {**PATIENT, "phone": phone}, format="json")

    assert response.status_code == 201
    assert Patient.objects.get().phone == "+12025550143"


@pytest.mark.parametrize("phone", ["+1 555", "12345", "+99 1234567", "not a phone", "+1202555014399999"])
def test_an_invalid_phone_is_400(agent_client, phone):
    response = agent_client.post("/api/v1/patients/", {**PATIENT, "phone": phone}, format="json")

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["phone"]
    assert phone not in response.content.decode()
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("patients/", "timezone"),
        ("patients/", "date_of_birth"),
        ("patients/", "phone"),
        ("patients/", "preferred_language"),
        ("episodes/", "patient_id"),
        ("episodes/", "condition"),
        ("episodes/", "admitted_at"),
        ("interactions/", "episode_id"),
        ("events/", "name"),
    ],
)
def test_errors_never_echo_the_submitted_value(agent_client, path, field):
    body = {field: PHI, "data": {}} if path == "events/" else {field: PHI}

    response = agent_client.post(f"/api/v1/{path}", body, format="json")

    assert response.status_code == 400
    assert field in error(response)["fields"]
    assert PHI not in response.content.decode()


def test_a_bad_choice_names_the_field_without_the_value(agent_client):
    interaction = AgentInteractionFactory()

    response = agent_client.post(
        f"/api/v1/interactions/{interaction.pk}/responses/", {"text": "x", "severity": PHI}, format="json"
    )

    assert response.status_code == 400
    assert error(response)["fields"] == {"severity": ["Not one of the allowed values."]}


def test_a_reason_code_must_be_a_code_not_free_text(agent_client):
    interaction = AgentInteractionFactory()

    response = agent_client.post(
        f"/api/v1/interactions/{interaction.pk}/responses/",
        {"text": "x", "severity": "HIGH", "reason_codes": ["HF_WEIGHT_GAIN", "she said her husband died"]},
        format="json",
    )

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["reason_codes.1"]


def test_a_response_to_a_completed_interaction_is_refused(agent_client):
    interaction = AgentInteractionFactory()
    agent_client.post(f"/api/v1/interactions/{interaction.pk}/complete/", {"outcome": "OK"}, format="json")

    response = agent_client.post(
        f"/api/v1/interactions/{interaction.pk}/responses/", {"text": "x", "severity": "HIGH"}, format="json"
    )

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["interaction"]


def test_a_discharge_before_admission_is_400(agent_client):
    episode = EpisodeFactory(discharged_at=None)
    before = episode.admitted_at - dt.timedelta(days=1)

    response = agent_client.post(
        f"/api/v1/episodes/{episode.pk}/discharge/", {"discharged_at": before.isoformat()}, format="json"
    )

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["discharged_at"]
    assert not Event.objects.exists()


def test_a_discharge_in_the_future_is_400(agent_client):
    episode = EpisodeFactory(discharged_at=None)
    later = timezone.now() + dt.timedelta(days=2)

    response = agent_client.post(
        f"/api/v1/episodes/{episode.pk}/discharge/", {"discharged_at": later.isoformat()}, format="json"
    )

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["discharged_at"]


def test_a_body_over_the_limit_is_413(agent_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = {**PATIENT, "first_name": "A" * 2000}

    response = agent_client.post("/api/v1/patients/", body, format="json")

    assert response.status_code == 413
    assert error(response)["code"] == "payload_too_large"
    assert not Patient.objects.exists()


def test_the_default_limit_is_64_kib(agent_client):
    response = agent_client.post("/api/v1/patients/", "[" + "1," * 40_000 + "1]", content_type="application/json")

    assert response.status_code == 413


def test_a_bad_filter_is_400(charge_nurse_client):
    response = charge_nurse_client.get("/api/v1/tasks/", {"status": "DONE"})

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["status"]


def test_a_bad_idempotency_key_is_400(agent_client):
    response = agent_client.post("/api/v1/patients/", PATIENT, format="json", HTTP_IDEMPOTENCY_KEY="a key with spaces")

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["Idempotency-Key"]
    assert not Patient.objects.exists()


def test_a_missing_object_is_404(agent_client):
    response = agent_client.post(
        f"/api/v1/interactions/{uuid.uuid4()}/responses/", {"text": "x", "severity": "LOW"}, format="json"
    )

    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


def test_an_unknown_path_under_the_api_is_a_json_404(agent_client):
    response = agent_client.get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


def test_a_wrong_method_is_405(agent_client):
    response = agent_client.delete(f"/api/v1/patients/{uuid.uuid4()}/")

    assert response.status_code == 405
    assert error(response)["code"] == "method_not_allowed"


def test_an_unexpected_error_is_a_generic_500_without_details(agent_client, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError(f"duplicate key value violates unique constraint: phone={PHI}")

    monkeypatch.setattr("care_events.apis.patients.patient_create", broken)

    response = agent_client.post("/api/v1/patients/", PATIENT, format="json")

    assert response.status_code == 500
    assert response.json() == {"error": {"code": "server_error", "message": "Internal server error."}}
    assert PHI not in caplog.text
    assert "RuntimeError" in caplog.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", 0, "Must be a string."),
        ("date_of_birth", 19480517, "Must be a string."),
    ],
)
def test_values_of_the_wrong_json_type_are_400_not_coerced(agent_client, field, value, message):
    response = agent_client.post("/api/v1/patients/", {**PATIENT, field: value}, format="json")

    assert response.status_code == 400
    assert error(response)["fields"] == {field: [message]}
    assert not Patient.objects.exists()


def test_an_empty_string_is_not_a_null_id(agent_client):
    body = {"episode_id": str(EpisodeFactory().pk), "outreach_attempt_id": ""}

    response = agent_client.post("/api/v1/interactions/", body, format="json")

    assert response.status_code == 400
    assert error(response)["fields"] == {"outreach_attempt_id": ["Must be a valid UUID."]}


@pytest.mark.parametrize("query", [{"page": ""}, {"page": "last"}, {"page": "0"}, {"page_size": "many"}])
def test_a_bad_page_parameter_is_400(charge_nurse_client, query):
    response = charge_nurse_client.get("/api/v1/tasks/", query)

    assert response.status_code == 400
    assert list(error(response)["fields"]) == list(query)


def test_a_page_past_the_end_is_404(charge_nurse_client):
    response = charge_nurse_client.get("/api/v1/tasks/", {"page": "7"})

    assert response.status_code == 404


# --- malformed bodies and outages: 4xx or 503, never a 500 ------------------------------------------------------


def test_a_body_nested_beyond_pythons_stack_is_malformed_json(agent_client):
    body = "[" * 20000 + "]" * 20000  # 40 kB, under the body limit

    response = agent_client.post("/api/v1/patients/", body, content_type="application/json")

    assert response.status_code == 400
    assert error(response)["code"] == "malformed_json"


@pytest.mark.parametrize("depth", [33, 500])
def test_a_field_nested_deeper_than_any_body_of_the_api_is_refused_at_once(agent_client, depth):
    nested: object = "x"
    for _ in range(depth):
        nested = {"a": nested}
    started = time.monotonic()

    response = agent_client.post("/api/v1/patients/", {**PATIENT, "first_name": nested}, format="json")

    assert response.status_code == 400
    assert error(response)["code"] == "malformed_json"
    assert time.monotonic() - started < 2
    assert not Patient.objects.exists()


def test_a_nested_value_within_the_limit_that_fails_validation_names_the_field(agent_client):
    nested: object = PHI
    for _ in range(10):  # 21 levels with the body itself: under the limit of 32
        nested = {"a": [nested]}

    response = agent_client.post("/api/v1/patients/", {**PATIENT, "first_name": nested}, format="json")

    assert response.status_code == 400
    assert "first_name" in error(response)["fields"]
    assert PHI not in response.content.decode()


def test_an_admission_in_year_one_is_refused(agent_client):
    patient = PatientFactory()

    response = agent_client.post(
        "/api/v1/episodes/",
        {
            "patient_id": str(patient.pk),
            "admitted_at": "0001-01-01T00:00:00Z",
            "condition": "HF",
            "facility": "GENERAL",
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["admitted_at"]


def test_a_database_outage_is_a_503_with_retry_after(agent_client, monkeypatch, caplog):
    from django.db import OperationalError

    def database_down(**kwargs):
        raise OperationalError(f"connection to server failed: {PHI}")

    # Fault injection where the request meets the database: the outage itself is the thing under test.
    monkeypatch.setattr("care_events.apis.patients.patient_create", database_down)

    response = agent_client.post("/api/v1/patients/", PATIENT, format="json")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert error(response)["code"] == "service_unavailable"
    assert PHI not in caplog.text
