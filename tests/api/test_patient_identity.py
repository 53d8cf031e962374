"""A patient's hospital identity: the MRN of the facility that issued it, unique together; finding patients by it;
a patient's episodes and the check-in attempt the agent answers."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from care_events.models import OutreachPlan, Patient
from tests.api.conftest import key_for
from tests.care_events.factories import EpisodeFactory, OutreachAttemptFactory, OutreachPlanFactory, PatientFactory

PATIENT = {
    "first_name": "Ada",
    "last_name": "Moreno",
    "date_of_birth": "1948-05-17",
    "phone": "+12025550143",
    "mrn": "MRN-0048213",
    "facility": "STMARY",
}


@pytest.fixture(autouse=True)
def _two_facilities(settings):
    settings.CARE_FACILITIES = {"STMARY": "St Mary Cardiology", "GENERAL": "General Hospital"}


@pytest.mark.django_db
def test_create_a_patient_with_an_mrn(agent_client):
    response = agent_client.post("/api/v1/patients/", PATIENT, format="json")

    assert response.status_code == 201
    assert (response.json()["mrn"], response.json()["facility"]) == ("MRN-0048213", "STMARY")
    assert Patient.objects.get().mrn == "MRN-0048213"


@pytest.mark.django_db
def test_a_patient_without_an_mrn_is_still_created(agent_client):
    body = {key: value for key, value in PATIENT.items() if key not in ("mrn", "facility")}

    first = agent_client.post("/api/v1/patients/", body, format="json")
    second = agent_client.post("/api/v1/patients/", body, format="json")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["mrn"] == first.json()["facility"] == ""


@pytest.mark.django_db
def test_a_duplicate_mrn_is_409_with_the_existing_id_and_creates_nothing(agent_client):
    existing = agent_client.post("/api/v1/patients/", PATIENT, format="json").json()["id"]

    response = agent_client.post(
        "/api/v1/patients/", {**PATIENT, "first_name": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="dup-1"
    )

    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "conflict",
            "message": "A patient with this MRN and facility exists; see existing_id.",
            "existing_id": existing,
        }
    }
    assert Patient.objects.count() == 1


@pytest.mark.django_db
def test_the_same_mrn_at_another_facility_is_another_patient(agent_client):
    agent_client.post("/api/v1/patients/", PATIENT, format="json")

    response = agent_client.post("/api/v1/patients/", {**PATIENT, "facility": "GENERAL"}, format="json")

    assert response.status_code == 201
    assert Patient.objects.filter(mrn="MRN-0048213").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mrn": "MRN-1"}, "facility"),
        ({"mrn": "MRN-1", "facility": ""}, "facility"),
        ({"facility": "STMARY"}, "mrn"),
        ({"mrn": "M" * 65, "facility": "STMARY"}, "mrn"),
    ],
)
def test_an_mrn_needs_its_facility(agent_client, body, field):
    base = {key: value for key, value in PATIENT.items() if key not in ("mrn", "facility")}

    response = agent_client.post("/api/v1/patients/", {**base, **body}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert not Patient.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_of_the_same_mrn_give_one_201_and_one_409(agent, monkeypatch):
    """Both requests pass the existence check before either inserts (held at a barrier); the loser's INSERT waits
    on the unique index for the winner's commit, then fails, and is answered 409 rather than 500."""
    token = key_for(agent)
    barrier = threading.Barrier(2, timeout=10)
    full_clean = Patient.full_clean

    def full_clean_together(self, *args, **kwargs):
        barrier.wait()
        return full_clean(self, *args, **kwargs)

    monkeypatch.setattr(Patient, "full_clean", full_clean_together)

    def create(first_name: str):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            response = client.post("/api/v1/patients/", {**PATIENT, "first_name": first_name}, format="json")
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(create, ["Ada", "Eve"]), key=lambda result: result[0])

    (created_status, created), (conflict_status, conflict) = results
    assert (created_status, conflict_status) == (201, 409)
    assert conflict["error"]["code"] == "conflict"
    assert conflict["error"]["existing_id"] == created["id"]
    assert list(Patient.objects.values_list("pk", flat=True)) == [Patient.objects.get().pk]
    assert str(Patient.objects.get().pk) == created["id"]


@pytest.mark.django_db
def test_find_patients_by_mrn_and_facility(agent_client):
    mary = PatientFactory(mrn="MRN-7", facility="STMARY")
    general = PatientFactory(mrn="MRN-7", facility="GENERAL")
    PatientFactory(mrn="MRN-8", facility="STMARY")
    PatientFactory()  # no MRN

    by_mrn = agent_client.get("/api/v1/patients/", {"mrn": "MRN-7"})
    by_both = agent_client.get("/api/v1/patients/", {"mrn": "MRN-7", "facility": "STMARY"})
    unknown = agent_client.get("/api/v1/patients/", {"mrn": "MRN-9"})

    assert by_mrn.status_code == by_both.status_code == unknown.status_code == 200
    assert by_mrn.json()["count"] == 2
    assert [p["id"] for p in by_mrn.json()["results"]] == [str(general.pk), str(mary.pk)]  # by facility
    assert [p["id"] for p in by_both.json()["results"]] == [str(mary.pk)]
    assert unknown.json()["results"] == []


@pytest.mark.django_db
def test_the_lookup_is_paginated(agent_client):
    for n in range(3):
        PatientFactory(mrn="MRN-7", facility=f"Facility {n}")

    page = agent_client.get("/api/v1/patients/", {"mrn": "MRN-7", "page_size": 2, "page": 2})

    assert page.status_code == 200
    assert (page.json()["count"], len(page.json()["results"])) == (3, 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "mrn"),
        ("?mrn=", "mrn"),
        ("?mrn=%20", "mrn"),
        ("?facility=STMARY", "mrn"),
        ("?mrn=MRN-7&phone=%2B12025550143", "phone"),
        ("?mrn=" + "M" * 65, "mrn"),
        ("?mrn=MRN-7&page=0", "page"),
    ],
)
def test_a_bad_lookup_is_400_naming_the_field(agent_client, query, field):
    PatientFactory(mrn="MRN-7", facility="STMARY")

    response = agent_client.get(f"/api/v1/patients/{query}")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


@pytest.mark.django_db
def test_a_patients_episodes_newest_first_with_the_current_attempt(agent_client):
    patient = PatientFactory()
    now = dt.datetime.now(dt.UTC)
    old = EpisodeFactory(patient=patient, admitted_at=now - dt.timedelta(days=90))
    current = EpisodeFactory(patient=patient, admitted_at=now - dt.timedelta(days=5))
    plan = OutreachPlanFactory(episode=current)
    OutreachAttemptFactory(plan=plan, attempt_number=1, status="NO_ANSWER")
    latest = OutreachAttemptFactory(plan=plan, attempt_number=2, status="SENT", attempted_at=now)
    EpisodeFactory()  # another patient's

    response = agent_client.get(f"/api/v1/patients/{patient.pk}/episodes/")

    assert response.status_code == 200
    assert [e["id"] for e in response.json()["results"]] == [str(current.pk), str(old.pk)]
    assert response.json()["results"][0]["current_outreach_attempt"] == {
        "id": str(latest.pk),
        "attempt_number": 2,
        "status": "SENT",
        "scheduled_at": latest.scheduled_at.isoformat().replace("+00:00", "Z"),
        "attempted_at": now.isoformat().replace("+00:00", "Z"),
    }
    assert response.json()["results"][1]["current_outreach_attempt"] is None


@pytest.mark.django_db
def test_an_episode_shows_its_current_attempt_only_while_its_plan_is_active(agent_client):
    attempt = OutreachAttemptFactory(status="SENT")
    episode = attempt.plan.episode

    active = agent_client.get(f"/api/v1/episodes/{episode.pk}/").json()["current_outreach_attempt"]
    OutreachPlan.objects.update(status="COMPLETED")
    completed = agent_client.get(f"/api/v1/episodes/{episode.pk}/").json()["current_outreach_attempt"]

    assert active["id"] == str(attempt.pk)
    assert completed is None


@pytest.mark.django_db
def test_the_episodes_of_a_patient_who_does_not_exist_are_404(agent_client):
    response = agent_client.get("/api/v1/patients/3fa85f64-5717-4562-b3fc-2c963f66afa6/episodes/")

    assert response.status_code == 404


@pytest.mark.django_db
def test_listing_episodes_costs_the_same_whatever_their_number(agent_client, django_assert_max_num_queries):
    patient = PatientFactory()
    for _ in range(5):
        OutreachAttemptFactory(plan=OutreachPlanFactory(episode=EpisodeFactory(patient=patient)))
    client = agent_client
    client.get(f"/api/v1/patients/{patient.pk}/episodes/")  # warm: the token's user, the throttle

    # Authentication (the key, the user's and her groups' permissions: 3), the patient exists, the count, the page,
    # its plans and their attempts, the audit row.
    with django_assert_max_num_queries(9):
        response = client.get(f"/api/v1/patients/{patient.pk}/episodes/")

    assert all(episode["current_outreach_attempt"] for episode in response.json()["results"])
