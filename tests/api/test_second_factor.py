"""One gate for every person's login: a password and a one-time password (admin's login). The API has no login of its
own, and a session that a password alone opened reaches no `/api/v1/` route, whoever holds it (a superuser too)."""

import re

import pytest
from rest_framework.test import APIClient

from care_events.models import Patient
from care_events.platform.audit.models import AuditEntry
from care_events.platform.bus.models import Event
from tasks_app.models import EscalationTask
from tests.api.test_permissions import MATRIX, World, _fill, api_endpoints
from tests.api.test_permissions import world as world  # the fixture
from tests.helpers import force_admin_login

pytestmark = pytest.mark.django_db


def password_only_session(user) -> APIClient:
    """A session made from the right password and nothing else (as the API's old session login made one)."""
    client = APIClient()
    client.force_login(user)
    return client


def request(client: APIClient, endpoint: str, world: World):
    method, route = endpoint.split(" ")
    target, data, _ = MATRIX[endpoint]
    url = "/" + re.sub(r"<uuid:pk>", str(world.ids[target]) if target else "", route)
    if method == "GET":
        return client.get(url + (data or ""))
    return client.post(url, _fill(data, world.ids), format="json")


def test_a_password_only_session_is_refused_on_every_api_route_and_changes_nothing(world, admin_user):
    client = password_only_session(admin_user)  # a superuser: every permission, were the session let through
    before = (Event.objects.count(), Patient.objects.count(), list(EscalationTask.objects.values("pk", "status")))
    # The REST API's routes and the FHIR intake's writes (its CapabilityStatement is public).
    routes = sorted(
        endpoint
        for endpoint in api_endpoints()
        if endpoint.split(" ")[1].startswith("api/v1/") or endpoint.startswith("POST fhir/")
    )

    answers = {endpoint: request(client, endpoint, world) for endpoint in routes}

    # Every row of the matrix but the schema, its docs page and the FHIR CapabilityStatement.
    assert len(routes) == len(MATRIX) - 3 > 25
    refused = {endpoint: r.status_code for endpoint, r in answers.items() if r.status_code != 403}
    assert refused == {}
    api = [r for endpoint, r in answers.items() if " api/" in endpoint]
    assert {r.json()["error"]["code"] for r in api} == {"second_factor_required"}
    fhir = [r.json() for endpoint, r in answers.items() if " fhir/" in endpoint]
    assert len(fhir) == 2 and all(body["issue"][0]["code"] == "forbidden" for body in fhir)
    after = (Event.objects.count(), Patient.objects.count(), list(EscalationTask.objects.values("pk", "status")))
    assert after == before
    # Each refusal is in the trail under the session's user.
    assert AuditEntry.objects.filter(user_id=admin_user.pk, status_code=403).count() == len(routes)


def test_the_same_user_verified_by_a_one_time_password_is_served(world, admin_user):
    verified = force_admin_login(APIClient(), admin_user)

    assert verified.get(f"/api/v1/patients/{world.ids['patient']}/").status_code == 200
    assert verified.get("/api/v1/tasks/").status_code == 200


def test_a_nurse_without_an_authenticator_gets_nothing_from_her_password(world):
    client = password_only_session(world.users["nurse_a"])

    response = client.get(f"/api/v1/patients/{world.ids['patient']}/")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "second_factor_required"


@pytest.mark.parametrize("path", ["/api/auth/login/", "/api/auth/logout/"])
def test_the_api_has_no_login_of_its_own(client, admin_user, path):
    response = client.post(path, {"username": "admin", "password": "password"})

    assert response.status_code == 404
    assert "sessionid" not in response.cookies
    assert client.get("/api/v1/tasks/").status_code == 401


def test_without_mfa_required_a_password_session_is_served(world, admin_user, settings):
    """A developer's own copy only: production refuses ADMIN_MFA_REQUIRED=false (config/test_logins.py)."""
    settings.ADMIN_MFA_REQUIRED = False

    response = password_only_session(admin_user).get("/api/v1/tasks/")

    assert response.status_code == 200
