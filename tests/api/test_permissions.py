"""The permission matrix: every endpoint by anonymous, nurse A (the owner), nurse B, the agent, staff.

A nurse reaches only her own tasks and notifications (another's is 404, never 403); the agent only patients,
episodes, interactions and events; nurses are 403 on the agent's endpoints; anonymous is 401. A refused request
changes nothing.
"""

import uuid
from dataclasses import dataclass

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from care_events.bus.models import Event
from notifications.models import PushSubscription
from tests.api.conftest import client_for
from tests.api.factories import AgentUserFactory, StaffUserFactory
from tests.care_events.factories import AgentInteractionFactory
from tests.notifications.factories import NotificationLogFactory
from tests.tasks_app.factories import EscalationTaskFactory, NurseShiftFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "nurse_a", "nurse_b", "agent", "staff"]


@dataclass
class World:
    users: dict
    ids: dict


@pytest.fixture
def world() -> World:
    nurse_a, nurse_b = NurseShiftFactory().nurse, NurseShiftFactory().nurse
    interaction = AgentInteractionFactory()
    task = EscalationTaskFactory(
        episode=interaction.episode, assigned_to=nurse_a, status="ASSIGNED", assigned_at=timezone.now()
    )
    notification = NotificationLogFactory(recipient_nurse=nurse_a, task=task)
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
            "agent": AgentUserFactory(),
            "staff": StaffUserFactory(),
        },
        ids={
            "patient": interaction.episode.patient_id,
            "episode": interaction.episode_id,
            "interaction": interaction.pk,
            "task": task.pk,
            "notification": notification.pk,
            "nurse_b": nurse_b.pk,
        },
    )


# (method, path, body), then the expected status for anonymous, nurse A, nurse B, agent, staff.
MATRIX = {
    "patient create": (
        (
            "POST",
            "patients/",
            {"first_name": "A", "last_name": "B", "date_of_birth": "1950-01-01", "phone": "+12025550100"},
        ),
        (401, 403, 403, 201, 201),
    ),
    "patient read": (("GET", "patients/{patient}/", None), (401, 403, 403, 200, 200)),
    "patient lookup": (("GET", "patients/?mrn=MRN-1", None), (401, 403, 403, 200, 200)),
    "patient episodes": (("GET", "patients/{patient}/episodes/", None), (401, 403, 403, 200, 200)),
    "episode create": (
        (
            "POST",
            "episodes/",
            {
                "patient_id": "{patient}",
                "admitted_at": "2026-01-01T00:00:00Z",
                "condition": "HF",
                "facility": "GENERAL",
            },
        ),
        (401, 403, 403, 201, 201),
    ),
    "episode read": (("GET", "episodes/{episode}/", None), (401, 403, 403, 200, 200)),
    "episode discharge": (("POST", "episodes/{episode}/discharge/", {}), (401, 403, 403, 202, 202)),
    "interaction start": (("POST", "interactions/", {"episode_id": "{episode}"}), (401, 403, 403, 201, 403)),
    "interaction read": (("GET", "interactions/{interaction}/", None), (401, 403, 403, 200, 200)),
    "interaction response": (
        ("POST", "interactions/{interaction}/responses/", {"text": "ok", "severity": "LOW"}),
        (401, 403, 403, 201, 403),
    ),
    "interaction responses": (("GET", "interactions/{interaction}/responses/", None), (401, 403, 403, 200, 200)),
    "interaction raise-flag": (
        (
            "POST",
            "interactions/{interaction}/raise-flag/",
            {"severity": "HIGH", "reason_codes": ["HF_SWELLING"], "action_type": "NURSE_CALLBACK_2H"},
        ),
        (401, 403, 403, 201, 403),
    ),
    "interaction handoff": (
        ("POST", "interactions/{interaction}/handoff/", {"reason": "PATIENT_REQUEST"}),
        (401, 403, 403, 201, 403),
    ),
    "interaction complete": (
        ("POST", "interactions/{interaction}/complete/", {"outcome": "PATIENT_OK"}),
        (401, 403, 403, 200, 403),
    ),
    "task list": (("GET", "tasks/", None), (401, 200, 200, 403, 200)),
    "task read": (("GET", "tasks/{task}/", None), (401, 200, 404, 403, 200)),
    "task acknowledge": (("POST", "tasks/{task}/acknowledge/", {}), (401, 200, 404, 403, 200)),
    "task resolve": (("POST", "tasks/{task}/resolve/", {"resolution": "Called"}), (401, 200, 404, 403, 200)),
    "task reassign": (("POST", "tasks/{task}/reassign/", {"nurse_id": "{nurse_b}"}), (401, 403, 403, 403, 200)),
    "task cancel": (("POST", "tasks/{task}/cancel/", {"reason": "Duplicate"}), (401, 403, 403, 403, 200)),
    "interaction messages": (("GET", "interactions/{interaction}/messages/", None), (401, 403, 403, 200, 200)),
    "notification list": (("GET", "notifications/", None), (401, 200, 200, 403, 403)),
    "notification read": (("POST", "notifications/{notification}/read/", {}), (401, 200, 404, 403, 403)),
    "push subscription register": (
        (
            "POST",
            "push-subscriptions/",
            {
                "endpoint": "https://fcm.googleapis.com/fcm/send/matrix",
                "keys": {
                    "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                    "auth": "tBHItJI5svbpez7KI4CCXg",
                },
            },
        ),
        (401, 201, 201, 403, 403),
    ),
    "push subscription unregister": (
        ("POST", "push-subscriptions/unregister/", {"endpoint": "https://fcm.googleapis.com/fcm/send/nurse-a"}),
        (401, 204, 404, 403, 403),
    ),
    "push vapid public key": (("GET", "push-subscriptions/vapid-public-key/", None), (401, 200, 200, 403, 403)),
    "event send": (
        ("POST", "events/", {"name": "patient/discharged", "data": {"episode_id": "{episode}"}}),
        (401, 403, 403, 202, 202),
    ),
}
CASES = [
    pytest.param(endpoint, role, expected[ROLES.index(role)], id=f"{endpoint}-{role}")
    for endpoint, (_, expected) in MATRIX.items()
    for role in ROLES
]


def _fill(value, ids: dict):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]] if isinstance(ids[value[1:-1]], int) else str(ids[value[1:-1]])
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("endpoint", "role", "expected"), CASES)
def test_permission_matrix(world, endpoint, role, expected):
    (method, path, body), _ = MATRIX[endpoint]
    client = client_for(world.users[role])
    url = "/api/v1/" + path.format(**world.ids)
    events_before = Event.objects.count()

    response = client.get(url) if method == "GET" else client.post(url, _fill(body, world.ids), format="json")

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert set(response.json()) == {"error"}
        assert Event.objects.count() == events_before  # refused: nothing happened
    if expected == 401:
        assert response.headers["WWW-Authenticate"] == "Token"


def test_the_task_list_shows_each_nurse_only_her_own(world):
    nurse_a = client_for(world.users["nurse_a"]).get("/api/v1/tasks/").json()
    nurse_b = client_for(world.users["nurse_b"]).get("/api/v1/tasks/").json()

    assert [task["id"] for task in nurse_a["results"]] == [str(world.ids["task"])]
    assert nurse_b["results"] == []


def test_another_nurses_task_looks_exactly_like_a_missing_one(world):
    client = client_for(world.users["nurse_b"])

    theirs = client.get(f"/api/v1/tasks/{world.ids['task']}/")
    missing = client.get(f"/api/v1/tasks/{uuid.uuid4()}/")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


def test_a_user_with_no_role_is_refused_everywhere(world):
    client = client_for(UserFactory())

    assert client.get("/api/v1/tasks/").status_code == 403
    assert client.get(f"/api/v1/patients/{world.ids['patient']}/").status_code == 403
    assert client.post("/api/v1/events/", {}, format="json").status_code == 403


def test_an_invalid_token_is_401(world):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")

    response = client.get("/api/v1/tasks/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_nurse_logged_in_with_a_session_reads_her_tasks(world):
    client = APIClient()
    client.force_login(world.users["nurse_a"])

    response = client.get("/api/v1/tasks/")

    assert response.status_code == 200
    assert response.json()["count"] == 1
