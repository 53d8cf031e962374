"""The permission matrix: every method of every API URL by every role, and the rows each role reaches.

Roles are groups holding Django permissions (care_events/platform/roles.py); `is_staff` opens nothing of the API. The
agent and the nurses call with their API keys (scope agent, nurse); the administrator and the staff account with a
browser session verified by a one-time password (admin's login; a password-only session is refused everywhere:
tests/api/test_second_factor.py). A nurse reaches only her own tasks, notifications and her tasks' patients
(another's is 404, never 403); anonymous is 401. A refused request changes nothing. The matrix is checked against the
URL configuration, so an endpoint added without a row here fails `test_every_api_endpoint_has_a_row`.
"""

import uuid
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.views import APIView

from care_events.platform.bus.models import Event
from care_events.services.interactions import patient_reply_record
from notifications.models import PushSubscription
from tests.api.conftest import client_for
from tests.api.factories import (
    AdministratorFactory,
    AgentUserFactory,
    ChargeNurseFactory,
    FeedUserFactory,
    ShiftStaffUserFactory,
)
from tests.care_events.factories import AgentInteractionFactory, EpisodeFactory
from tests.helpers import force_admin_login
from tests.notifications.factories import NotificationLogFactory
from tests.tasks_app.factories import EscalationTaskFactory, NurseShiftFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "nurse_a", "nurse_b", "charge_nurse", "agent", "administrator", "staff_shifts_only", "feed"]
# Who signs in with a session rather than an API key: the people who use admin.
SESSION_ROLES = {"administrator", "staff_shifts_only"}


@dataclass
class World:
    users: dict
    ids: dict


@pytest.fixture
def world() -> World:
    nurse_a, nurse_b = NurseShiftFactory().nurse, NurseShiftFactory().nurse
    interaction = AgentInteractionFactory()
    interaction.episode.patient.mrn, interaction.episode.patient.facility = "MRN-1", "STMARY"
    interaction.episode.patient.save()
    task = EscalationTaskFactory(
        episode=interaction.episode, interaction=interaction, assigned_to=nurse_a, status="ASSIGNED",
        assigned_at=timezone.now(),
    )  # fmt: skip
    notification = NotificationLogFactory(recipient_nurse=nurse_a, task=task)
    message = patient_reply_record(
        patient_id=interaction.episode.patient_id, text="hello", provider_message_id="SM-permissions"
    )
    PushSubscription.objects.create(
        nurse=nurse_a,
        endpoint="https://fcm.googleapis.com/fcm/send/nurse-a",
        p256dh="BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
        auth="tBHItJI5svbpez7KI4CCXg",
    )
    return World(
        users={
            "anonymous": None,
            "nurse_a": nurse_a.user,
            "nurse_b": nurse_b.user,
            "charge_nurse": ChargeNurseFactory().user,
            "agent": AgentUserFactory(),
            "administrator": AdministratorFactory(),
            "staff_shifts_only": ShiftStaffUserFactory(),
            "feed": FeedUserFactory(),
        },
        ids={
            "patient": interaction.episode.patient_id,
            "episode": interaction.episode_id,
            "interaction": interaction.pk,
            "task": task.pk,
            "notification": notification.pk,
            "message": message.pk,
            "nurse_b": nurse_b.pk,
        },
    )


def client_as(world: World, role: str) -> APIClient:
    if role in SESSION_ROLES:
        return force_admin_login(APIClient(), world.users[role])
    return client_for(world.users[role])


PATIENT = {"first_name": "A", "last_name": "B", "date_of_birth": "1950-01-01", "phone": "+12025550100"}
EPISODE = {"patient_id": "{patient}", "admitted_at": "2026-01-01T00:00:00Z", "condition": "HF", "facility": "GENERAL"}
FLAG = {"severity": "HIGH", "reason_codes": ["HF_SWELLING"], "action_type": "NURSE_CALLBACK_2H"}
P256DH = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
PUSH = {
    "endpoint": "https://fcm.googleapis.com/fcm/send/matrix",
    "keys": {"p256dh": P256DH, "auth": "tBHItJI5svbpez7KI4CCXg"},
}
A = "api/v1/"

# "<METHOD> <route>": (the object in the path's <uuid:pk>, query string or body, the expected status for
# anonymous, nurse A (the task's), nurse B, a charge nurse, the agent, an administrator, staff with shifts only, the
# hospital feed).
MATRIX = {
    f"POST {A}patients/": (None, PATIENT, (401, 403, 403, 403, 201, 201, 403, 201)),
    f"GET {A}patients/": (None, "?mrn=MRN-1", (401, 200, 200, 200, 200, 200, 403, 403)),
    f"GET {A}patients/<uuid:pk>/": ("patient", None, (401, 200, 404, 200, 200, 200, 403, 403)),
    f"GET {A}patients/<uuid:pk>/episodes/": ("patient", None, (401, 200, 404, 200, 200, 200, 403, 403)),
    # The hospital feed may add episodes (through /fhir/), but reads no patient: one it cannot read is none to it.
    f"POST {A}episodes/": (None, EPISODE, (401, 403, 403, 403, 201, 201, 403, 400)),
    f"GET {A}episodes/<uuid:pk>/": ("episode", None, (401, 200, 404, 200, 200, 200, 403, 403)),
    f"POST {A}episodes/<uuid:pk>/discharge/": ("episode", {}, (401, 403, 403, 403, 202, 202, 403, 404)),
    f"POST {A}interactions/": (None, {"episode_id": "{episode}"}, (401, 403, 403, 403, 201, 201, 403, 403)),
    f"GET {A}interactions/<uuid:pk>/": ("interaction", None, (401, 200, 404, 200, 200, 200, 403, 403)),
    f"POST {A}interactions/<uuid:pk>/responses/": (
        "interaction",
        {"text": "ok", "severity": "LOW"},
        (401, 403, 403, 403, 201, 201, 403, 403),
    ),
    f"GET {A}interactions/<uuid:pk>/responses/": ("interaction", None, (401, 200, 404, 200, 200, 200, 403, 403)),
    f"GET {A}interactions/<uuid:pk>/messages/": ("interaction", None, (401, 200, 404, 200, 200, 200, 403, 403)),
    f"GET {A}episodes/<uuid:pk>/interactions/": ("episode", None, (401, 200, 404, 200, 200, 200, 403, 403)),
    # A nurse's feed holds her tasks' patients' texts only (tests/api/test_patient_messages.py): empty, not 404.
    f"GET {A}patient-messages/": (None, None, (401, 200, 200, 200, 200, 200, 403, 403)),
    f"POST {A}patient-messages/<uuid:pk>/handled/": ("message", {}, (401, 403, 403, 403, 200, 200, 403, 403)),
    f"POST {A}interactions/<uuid:pk>/complete/": (
        "interaction",
        {"outcome": "PATIENT_OK"},
        (401, 403, 403, 403, 200, 200, 403, 403),
    ),
    f"POST {A}interactions/<uuid:pk>/raise-flag/": ("interaction", FLAG, (401, 403, 403, 403, 201, 201, 403, 403)),
    f"POST {A}interactions/<uuid:pk>/handoff/": (
        "interaction",
        {"reason": "PATIENT_REQUEST"},
        (401, 403, 403, 403, 201, 201, 403, 403),
    ),
    f"POST {A}events/": (
        None,
        {"name": "patient/discharged", "data": {"episode_id": "{episode}"}},
        (401, 403, 403, 403, 202, 202, 403, 403),
    ),
    f"GET {A}tasks/": (None, None, (401, 200, 200, 200, 403, 200, 403, 403)),
    f"GET {A}tasks/<uuid:pk>/": ("task", None, (401, 200, 404, 200, 403, 200, 403, 403)),
    f"POST {A}tasks/<uuid:pk>/acknowledge/": ("task", {}, (401, 200, 404, 200, 403, 200, 403, 403)),
    f"POST {A}tasks/<uuid:pk>/resolve/": ("task", {"resolution": "Called"}, (401, 200, 404, 200, 403, 200, 403, 403)),
    f"POST {A}tasks/<uuid:pk>/reassign/": (
        "task",
        {"nurse_id": "{nurse_b}"},
        (401, 403, 403, 200, 403, 200, 403, 403),
    ),
    f"POST {A}tasks/<uuid:pk>/cancel/": ("task", {"reason": "Duplicate"}, (401, 403, 403, 200, 403, 200, 403, 403)),
    f"GET {A}notifications/": (None, None, (401, 200, 200, 200, 403, 200, 403, 403)),
    # Notifications are their recipient's alone: the administrator, who has no nurse profile, has none.
    f"POST {A}notifications/<uuid:pk>/read/": ("notification", {}, (401, 200, 404, 404, 403, 404, 403, 403)),
    # Push subscriptions are a nurse's browsers: an account without a nurse profile has none (403).
    f"POST {A}push-subscriptions/": (None, PUSH, (401, 201, 201, 201, 403, 403, 403, 403)),
    f"POST {A}push-subscriptions/unregister/": (
        None,
        {"endpoint": "https://fcm.googleapis.com/fcm/send/nurse-a"},
        (401, 204, 404, 404, 403, 403, 403, 403),
    ),
    f"GET {A}push-subscriptions/vapid-public-key/": (None, None, (401, 200, 200, 200, 403, 200, 403, 403)),
    # The schema and its docs page are public: they describe the API and hold no data.
    "GET api/schema/": (None, None, (200,) * 8),
    "GET api/docs/": (None, None, (200,) * 8),
    # The FHIR intake (intake/fhir/): its CapabilityStatement is public; its writes need the feed's (and the agent's)
    # permissions to add patients and episodes and record discharges (an empty body is then 400: the permission was
    # enough).
    "GET fhir/metadata": (None, None, (200,) * 8),
    "POST fhir/Encounter": (None, {}, (401, 403, 403, 403, 400, 400, 403, 400)),
    "POST fhir/": (None, {}, (401, 403, 403, 403, 400, 400, 403, 400)),
}
CASES = [
    pytest.param(endpoint, role, expected[ROLES.index(role)], id=f"{endpoint}-{role}")
    for endpoint, (_, _, expected) in MATRIX.items()
    for role in ROLES
]


def api_endpoints() -> set[str]:
    """'<METHOD> <route>' for each method of each DRF view in the URL configuration."""
    found: set[str] = set()

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
                if view is not None and issubclass(view, APIView):
                    methods = [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)]
                    found.update(f"{method.upper()} {prefix}{pattern.pattern}" for method in methods)

    walk(get_resolver().url_patterns, "")
    return found


def _fill(value, ids: dict):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]] if isinstance(ids[value[1:-1]], int) else str(ids[value[1:-1]])
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


def test_every_api_endpoint_has_a_row():
    assert api_endpoints() == set(MATRIX)


@pytest.mark.parametrize(("endpoint", "role", "expected"), CASES)
def test_permission_matrix(world, endpoint, role, expected):
    method, route = endpoint.split(" ")
    target, data, _ = MATRIX[endpoint]
    url = "/" + route.replace("<uuid:pk>", str(world.ids[target]) if target else "")
    client = client_as(world, role)
    events_before = Event.objects.count()

    if method == "GET":
        response = client.get(url + (data or ""))
    else:
        response = client.post(url, _fill(data, world.ids), format="json")

    assert response.status_code == expected, response.content[:300]
    if expected >= 400 and route.startswith("fhir/"):
        assert response.json()["resourceType"] == "OperationOutcome"  # FHIR's error shape
        assert Event.objects.count() == events_before
    elif expected >= 400:
        assert set(response.json()) == {"error"}
        assert Event.objects.count() == events_before  # refused: nothing happened
    if expected == 401:
        assert response.headers["WWW-Authenticate"] == "Token"


def test_the_task_list_shows_each_nurse_only_her_own(world):
    nurse_a = client_for(world.users["nurse_a"]).get("/api/v1/tasks/").json()
    nurse_b = client_for(world.users["nurse_b"]).get("/api/v1/tasks/").json()
    charge_nurse = client_for(world.users["charge_nurse"]).get("/api/v1/tasks/").json()

    assert [task["id"] for task in nurse_a["results"]] == [str(world.ids["task"])]
    assert nurse_b["results"] == []
    assert [task["id"] for task in charge_nurse["results"]] == [str(world.ids["task"])]


def test_a_nurse_finds_by_mrn_only_the_patients_of_her_tasks(world):
    mine = client_for(world.users["nurse_a"]).get("/api/v1/patients/?mrn=MRN-1").json()
    theirs = client_for(world.users["nurse_b"]).get("/api/v1/patients/?mrn=MRN-1").json()

    assert [patient["id"] for patient in mine["results"]] == [str(world.ids["patient"])]
    assert theirs["results"] == []


def test_a_nurse_reads_every_episode_of_her_tasks_patient_and_no_other(world):
    another_episode = EpisodeFactory(patient_id=world.ids["patient"])
    a_stranger = EpisodeFactory()
    client = client_for(world.users["nurse_a"])

    listed = client.get(f"/api/v1/patients/{world.ids['patient']}/episodes/").json()

    assert {episode["id"] for episode in listed["results"]} == {str(world.ids["episode"]), str(another_episode.pk)}
    assert client.get(f"/api/v1/episodes/{a_stranger.pk}/").status_code == 404


def test_a_nurse_loses_the_patient_when_her_task_is_reassigned(world):
    client = client_for(world.users["nurse_a"])
    client_for(world.users["charge_nurse"]).post(
        f"/api/v1/tasks/{world.ids['task']}/reassign/", {"nurse_id": world.ids["nurse_b"]}, format="json"
    )

    assert client.get(f"/api/v1/patients/{world.ids['patient']}/").status_code == 404
    assert client_for(world.users["nurse_b"]).get(f"/api/v1/patients/{world.ids['patient']}/").status_code == 200


def test_another_nurses_task_looks_exactly_like_a_missing_one(world):
    client = client_for(world.users["nurse_b"])

    theirs = client.get(f"/api/v1/tasks/{world.ids['task']}/")
    missing = client.get(f"/api/v1/tasks/{uuid.uuid4()}/")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


def test_a_charge_nurse_acknowledges_for_the_assignee(world):
    response = client_for(world.users["charge_nurse"]).post(f"/api/v1/tasks/{world.ids['task']}/acknowledge/")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["assigned_to"]) == (
        "ACKNOWLEDGED",
        world.users["nurse_a"].nurse.pk,
    )


def test_a_user_with_no_role_is_refused_everywhere(world):
    client = client_for(UserFactory())

    assert client.get("/api/v1/tasks/").status_code == 403
    assert client.get(f"/api/v1/patients/{world.ids['patient']}/").status_code == 403
    assert client.post("/api/v1/events/", {}, format="json").status_code == 403


def test_a_superuser_is_not_refused(world, admin_user):
    client = force_admin_login(APIClient(), admin_user)

    assert client.get(f"/api/v1/patients/{world.ids['patient']}/").status_code == 200
    assert client.get(f"/api/v1/tasks/{world.ids['task']}/").status_code == 200


def test_a_method_the_endpoint_lacks_is_405_not_403(world):
    response = client_for(world.users["nurse_a"]).delete(f"/api/v1/tasks/{world.ids['task']}/")

    assert response.status_code == 405


def test_a_nurse_logged_in_with_a_session_reads_her_tasks(world):
    client = force_admin_login(APIClient(), world.users["nurse_a"])

    response = client.get("/api/v1/tasks/")

    assert response.status_code == 200
    assert response.json()["count"] == 1
