"""FHIR R4 intake: POST /fhir/Encounter and a transaction Bundle, OperationOutcome errors, the
CapabilityStatement, the API's keys and audit trail."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from rest_framework.test import APIClient

from care_events.models import Episode, Patient
from care_events.platform.api_clients.models import ApiToken
from care_events.platform.audit.models import AuditEntry
from care_events.platform.bus.models import Event
from care_events.platform.roles import HOSPITAL_FEED
from intake.models import AdtMessage
from tests.api.conftest import client_for
from tests.api.factories import AgentUserFactory
from tests.care_events.factories import PatientFactory
from tests.intake.fhir_examples import bundle, encounter, patient
from tests.intake.messages import adt

pytestmark = pytest.mark.django_db
FHIR = "application/fhir+json"


@pytest.fixture
def engine():
    """The hospital's interface engine, with the account and key `manage.py create_feed_token` makes."""
    out = StringIO()
    call_command("create_feed_token", "hospital-feed", stdout=out)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    return client


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type=FHIR)


def outcome(response) -> dict:
    OperationOutcome.model_validate(response.json())  # a valid OperationOutcome, by the same library
    issue = response.json()["issue"][0]
    return {"code": issue["code"], "expression": issue.get("expression", [""])[0], "text": issue["diagnostics"]}


def test_a_transaction_bundle_admits_and_discharges_as_the_api_does(engine):
    response = post(engine, "/fhir/", bundle())
    assert response.status_code == 201, response.json()
    assert response["Content-Type"] == FHIR
    patient_row = Patient.objects.get(mrn="MRN100", facility="GENERAL")
    assert (patient_row.first_name, patient_row.phone, patient_row.preferred_language) == ("Ada", "+12025550143", "es")
    episode = Episode.objects.get(visit_number="V100")
    assert episode.condition == "PNA" and episode.discharge_disposition == "01"
    assert episode.discharged_at == dt.datetime(2026, 12, 5, 19, 30, tzinfo=dt.UTC)
    assert Event.objects.filter(name="patient/discharged", data__episode_id=str(episode.pk)).count() == 1
    locations = [entry["response"]["location"] for entry in response.json()["entry"]]
    assert locations == [f"Patient/{patient_row.pk}", f"Encounter/{episode.pk}"]


def test_an_encounter_alone_names_a_known_patient_by_mrn(engine):
    PatientFactory(mrn="MRN100", facility="GENERAL")
    response = post(engine, "/fhir/Encounter", encounter(status="in-progress", end=None))
    assert response.status_code == 201
    episode = Episode.objects.get()
    assert response.json()["id"] == str(episode.pk) and episode.discharged_at is None
    assert response["Location"].endswith(f"/fhir/Encounter/{episode.pk}")
    assert post(engine, "/fhir/Encounter", encounter())
    episode.refresh_from_db()
    assert episode.discharged_at is not None


def test_the_same_resource_posted_again_is_applied_once(engine):
    first = post(engine, "/fhir/", bundle(id="bundle-1"))
    again = post(engine, "/fhir/", bundle(id="bundle-1"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert Episode.objects.count() == 1 and AdtMessage.objects.count() == 1
    assert Event.objects.filter(name="patient/discharged").count() == 1


def test_a_cancelled_encounter_cancels_the_admission(engine):
    PatientFactory(mrn="MRN100", facility="GENERAL")
    post(engine, "/fhir/Encounter", encounter(status="in-progress", end=None))
    assert post(engine, "/fhir/Encounter", encounter(status="cancelled", end=None)).status_code == 201
    assert Episode.objects.get().cancelled_at is not None


def test_a_finished_encounter_of_an_expired_patient_is_recorded_with_its_disposition(engine):
    post(engine, "/fhir/", bundle(enc=encounter(disposition="exp")))
    assert Episode.objects.get().discharge_disposition == "20"


@pytest.mark.parametrize(
    "body,path,status,code,expression",
    [
        ("not json", "/fhir/Encounter", 400, "invalid", ""),
        ([1, 2], "/fhir/Encounter", 400, "value", ""),
        ({"resourceType": "Observation"}, "/fhir/Encounter", 400, "invalid", "resourceType"),
        ({"resourceType": "Encounter", "status": "finished"}, "/fhir/Encounter", 400, "value", "Encounter.class"),
        (encounter(status="bogus"), "/fhir/Encounter", 400, "code-invalid", "Encounter.status"),
        ({**bundle(), "type": "batch"}, "/fhir/", 400, "code-invalid", "Bundle.type"),
        (encounter(end=None), "/fhir/Encounter", 422, "required", "Encounter.period.end"),
        (encounter(facility="NOWHERE"), "/fhir/Encounter", 422, "code-invalid", "Encounter.serviceProvider.identifier"),
        (encounter(), "/fhir/Encounter", 422, "required", "Patient.name"),  # an unknown patient without demographics
        (bundle(pat={**patient(), "identifier": []}), "/fhir/", 422, "required", "Patient.identifier"),
        (bundle(pat={**patient(), "birthDate": "1948"}), "/fhir/", 422, "value", "Patient.birthDate"),
        (encounter(start="yesterday"), "/fhir/Encounter", 400, "value", "Encounter.period.start"),
    ],
)
def test_errors_are_operation_outcomes_naming_the_element_and_change_nothing(
    engine, body, path, status, code, expression
):
    raw = body if isinstance(body, str) else json.dumps(body)
    response = engine.post(path, raw, content_type=FHIR)
    assert response.status_code == status, response.content
    found = outcome(response)
    assert (found["code"], found["expression"]) == (code, expression), found
    assert not Patient.objects.exists() and not Episode.objects.exists()


def test_without_a_key_401_and_a_nurse_key_403_as_operation_outcomes(engine):
    from rest_framework.test import APIClient

    assert outcome(post(APIClient(), "/fhir/Encounter", encounter()))["code"] == "login"
    from tests.tasks_app.factories import nurse_with_login

    response = post(client_for(nurse_with_login().user), "/fhir/Encounter", encounter())
    assert response.status_code == 403 and outcome(response)["code"] == "forbidden"
    assert not AdtMessage.objects.exists()


def test_the_feeds_key_records_stays_and_nothing_else(engine):
    assert post(engine, "/fhir/", bundle()).status_code == 201
    patient_id = Patient.objects.get().pk
    # No reading patients back, no interactions, no events: the Hospital feed role holds three permissions.
    assert engine.get(f"/api/v1/patients/{patient_id}/").status_code == 403
    assert engine.get("/api/v1/patients/", {"mrn": "MRN100"}).status_code == 403
    response = engine.post("/api/v1/events/", {"name": "patient/discharged", "data": {}}, format="json")
    assert response.status_code == 403
    # Its REST key adds no episode to a patient it cannot read: a 400 that names the field, nothing written.
    stay = {
        "patient_id": str(patient_id),
        "admitted_at": "2026-12-01T08:00:00Z",
        "condition": "HF",
        "facility": "GENERAL",
    }
    response = engine.post("/api/v1/episodes/", stay, format="json")
    assert response.status_code == 400 and "patient_id" in response.json()["error"]["fields"], response.json()
    assert Episode.objects.count() == 1
    feed = get_user_model().objects.get(username="hospital-feed")
    assert list(feed.groups.values_list("name", flat=True)) == [HOSPITAL_FEED]
    assert not feed.has_usable_password() and ApiToken.objects.get(user=feed).scope == "feed"


def test_an_agent_account_still_posts_the_feed(engine):
    # Deployments set up before the Hospital feed role gave the engine an account of the Agent role.
    assert post(client_for(AgentUserFactory()), "/fhir/", bundle()).status_code == 201


def test_each_request_leaves_an_audit_row_naming_the_patient(engine):
    post(engine, "/fhir/", bundle())
    row = AuditEntry.objects.filter(path="/fhir/").get()
    assert row.patient_ids == [Patient.objects.get().pk] and row.status_code == 201


def test_the_capability_statement_is_valid_and_names_what_is_taken(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = CapabilityStatement.model_validate(response.json())
    assert statement.fhirVersion == "4.0.1"
    assert [r.type for r in statement.rest[0].resource] == ["Encounter", "Patient"]


def test_an_unknown_fhir_path_is_a_404_operation_outcome(engine):
    response = engine.get("/fhir/Observation/1")
    assert response.status_code == 404 and outcome(response)["code"] == "not-supported"


def test_hl7_and_fhir_meet_on_the_same_visit(engine):
    from intake.services import hl7_receive

    hl7_receive(adt("A01", visit="V100"))
    assert post(engine, "/fhir/Encounter", encounter()).status_code == 201
    assert Episode.objects.count() == 1 and Episode.objects.get().discharged_at is not None
