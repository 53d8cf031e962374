"""API keys: expiry and its warning, scope, last use, rotation with an overlap, revocation; refused keys logged
without the key and throttled per address; an inactive user or nurse refused at once."""

import datetime as dt
import logging

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from care_events.platform.api_clients.models import ApiToken
from care_events.platform.api_clients.tokens import api_token_create, api_token_rotate
from tasks_app.models import Nurse
from tests.api.conftest import client_for
from tests.api.factories import AdministratorFactory, AgentUserFactory
from tests.care_events.factories import PatientFactory
from tests.helpers import force_admin_login
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory

pytestmark = pytest.mark.django_db

TOKENS_LOGGER = "care_events.platform.api_clients.tokens"
PATIENT = {"first_name": "Ada", "last_name": "Moreno", "date_of_birth": "1948-05-17", "phone": "+12025550143"}


def keyed(key: str, **extra) -> APIClient:
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def agent_key():
    return api_token_create(user=AgentUserFactory(), scope="agent")


@pytest.fixture
def patient_url():
    return f"/api/v1/patients/{PatientFactory().pk}/"


# --- expiry -------------------------------------------------------------------------------------------------


def test_a_key_expires_after_the_max_age(agent_key, patient_url, settings):
    token = ApiToken.objects.get()
    lifetime = token.expires_at - token.created_at
    assert abs(lifetime - dt.timedelta(days=settings.API_TOKEN_MAX_AGE_DAYS)) < dt.timedelta(seconds=1)

    with time_machine.travel(token.expires_at - dt.timedelta(seconds=1)):
        assert keyed(agent_key).get(patient_url).status_code == 200
    with time_machine.travel(token.expires_at):
        expired = keyed(agent_key).get(patient_url)

    assert (expired.status_code, error_code(expired)) == (401, "token_expired")
    assert expired.headers["WWW-Authenticate"] == "Token"


def test_a_key_about_to_expire_is_answered_with_its_expiry_and_logged_once_a_day(
    agent_key, patient_url, settings, caplog
):
    token = ApiToken.objects.get()
    fresh = keyed(agent_key).get(patient_url)
    assert "Sequora-Token-Expires" not in fresh.headers
    window_opens = token.expires_at - dt.timedelta(days=settings.API_TOKEN_EXPIRY_WARNING_DAYS)

    with caplog.at_level(logging.WARNING, logger=TOKENS_LOGGER):
        with time_machine.travel(window_opens + dt.timedelta(minutes=1)):
            first = keyed(agent_key).get(patient_url)
            refused = keyed(agent_key).get("/api/v1/tasks/")  # an error answer carries it too
        with time_machine.travel(window_opens + dt.timedelta(days=1, minutes=1)):
            keyed(agent_key).get(patient_url)

    expected = token.expires_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    assert first.headers["Sequora-Token-Expires"] == refused.headers["Sequora-Token-Expires"] == expected
    assert refused.status_code == 403
    warnings = [r.getMessage() for r in caplog.records if "expires at" in r.getMessage()]
    assert len(warnings) == 2  # one a day, not one a request
    assert all(token.prefix in line and agent_key not in line for line in warnings)


# --- last use -----------------------------------------------------------------------------------------------


def test_last_use_is_recorded_at_most_once_a_minute(agent_key, patient_url):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        keyed(agent_key).get(patient_url)
    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        keyed(agent_key).get(patient_url)
    assert ApiToken.objects.get().last_used_at == start

    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        keyed(agent_key).get(patient_url)
    assert ApiToken.objects.get().last_used_at == start + dt.timedelta(seconds=61)


# --- rotation and revocation --------------------------------------------------------------------------------


def test_a_rotated_key_works_for_the_overlap_then_is_refused(patient_url, settings):
    agent = AgentUserFactory()
    old_key = api_token_create(user=agent, scope="agent")
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        new_key = api_token_rotate(user=agent)
    with time_machine.travel(start + dt.timedelta(minutes=settings.API_TOKEN_ROTATION_OVERLAP_MINUTES - 1)):
        during = (keyed(old_key).get(patient_url), keyed(new_key).get(patient_url))
    with time_machine.travel(start + dt.timedelta(minutes=settings.API_TOKEN_ROTATION_OVERLAP_MINUTES)):
        after = (keyed(old_key).get(patient_url), keyed(new_key).get(patient_url))

    assert [r.status_code for r in during] == [200, 200]
    assert [r.status_code for r in after] == [401, 200]
    assert error_code(after[0]) == "token_rotated"
    old, new = ApiToken.objects.order_by("created_at")
    assert (old.rotated_at, old.expires_at) == (start, start + dt.timedelta(minutes=60))
    assert (new.scope, new.rotated_at, new.revoked_at) == ("agent", None, None)


def test_a_revoked_key_is_refused_at_once(agent_key, patient_url, admin_client):
    token = ApiToken.objects.get()
    assert keyed(agent_key).get(patient_url).status_code == 200

    admin_client.post(
        reverse("admin:care_events_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )

    refused = keyed(agent_key).get(patient_url)
    assert (refused.status_code, error_code(refused)) == (401, "token_revoked")


def test_admin_lists_holder_prefix_scope_dates_and_state(agent_key, patient_url, admin_client):
    keyed(agent_key).get(patient_url)
    token = ApiToken.objects.get()

    page = admin_client.get(reverse("admin:care_events_apitoken_changelist")).content.decode()

    for column in ("user", "prefix", "scope", "created_at", "expires_at", "last_used_at", "state"):
        assert f'class="sortable column-{column}' in page or f'class="column-{column}' in page
    assert token.prefix in page and agent_key not in page and token.digest not in page
    assert '<td class="field-state">active</td>' in page


# --- scope --------------------------------------------------------------------------------------------------


def test_a_read_only_key_reads_but_may_not_write(patient_url):
    key = api_token_create(user=AgentUserFactory(), scope="read-only")

    read = keyed(key).get(patient_url)
    write = keyed(key).post("/api/v1/patients/", PATIENT, format="json")

    assert read.status_code == 200
    assert (write.status_code, error_code(write)) == (403, "insufficient_scope")
    assert "read-only" in write.json()["error"]["message"]


def test_the_scope_narrows_the_holders_permissions(patient_url):
    administrator = AdministratorFactory()  # holds every permission of the product
    nurse_scoped = keyed(api_token_create(user=administrator, scope="nurse"))

    assert nurse_scoped.get("/api/v1/tasks/").status_code == 200
    assert error_code(nurse_scoped.post("/api/v1/patients/", PATIENT, format="json")) == "insufficient_scope"
    agent_scoped = keyed(api_token_rotate(user=administrator, scope="agent"))
    assert agent_scoped.post("/api/v1/patients/", PATIENT, format="json").status_code == 201
    assert error_code(agent_scoped.get("/api/v1/tasks/")) == "insufficient_scope"


def test_a_scope_grants_nothing_the_holder_lacks(patient_url):
    nurse = NurseFactory()
    agent_scoped = keyed(api_token_create(user=nurse.user, scope="agent"))

    response = agent_scoped.post("/api/v1/patients/", PATIENT, format="json")

    assert (response.status_code, error_code(response)) == (403, "permission_denied")


# --- refused keys: logged, throttled ------------------------------------------------------------------------


def test_an_unknown_key_is_401_and_logged_without_the_key(caplog):
    key = "not-a-real-key-but-long-enough-to-matter-0123456789"

    with caplog.at_level(logging.WARNING, logger=TOKENS_LOGGER):
        response = keyed(key, REMOTE_ADDR="203.0.113.9").get("/api/v1/tasks/")

    assert (response.status_code, error_code(response)) == (401, "authentication_failed")
    [line] = [r.getMessage() for r in caplog.records if r.name == TOKENS_LOGGER]
    assert "reason=unknown" in line and "prefix=not-a-re " in line and "client=203.0.113.9" in line
    assert key not in line and key[:9] not in line


def test_what_a_client_sent_is_logged_in_the_keys_alphabet_only(caplog):
    with caplog.at_level(logging.WARNING, logger=TOKENS_LOGGER):
        keyed("ab\x1b[2Jcdefghijk").get("/api/v1/tasks/")

    [line] = [r.getMessage() for r in caplog.records if r.name == TOKENS_LOGGER]
    assert "prefix=ab??2Jcd " in line


def test_refused_keys_are_throttled_per_address_and_a_valid_key_still_works(agent_key, patient_url, settings, caplog):
    settings.API_INVALID_TOKEN_RATE = "3/min"
    attacker = keyed("guessed-key-000000000000000000000000000000000", REMOTE_ADDR="198.51.100.7")
    with caplog.at_level(logging.WARNING, logger=TOKENS_LOGGER):
        answers = [attacker.get(patient_url) for _ in range(6)]

    assert [r.status_code for r in answers] == [401, 401, 401, 429, 429, 429]
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    assert error_code(answers[3]) == "throttled"
    lines = [r.getMessage() for r in caplog.records if r.name == TOKENS_LOGGER]
    assert len(lines) == 4  # three refusals, then one line for the whole throttled window
    assert "answering 429" in lines[3]
    assert all("guessed-" in line and "guessed-k" not in line for line in lines)
    # Another address is not throttled; nor is a valid key from the same one.
    assert keyed("guessed-key-1", REMOTE_ADDR="198.51.100.8").get(patient_url).status_code == 401
    assert keyed(agent_key, REMOTE_ADDR="198.51.100.7").get(patient_url).status_code == 200


def test_expired_and_revoked_keys_count_as_refused(patient_url, settings):
    settings.API_INVALID_TOKEN_RATE = "2/min"
    agent = AgentUserFactory()
    revoked = api_token_create(user=agent, scope="agent")
    api_token_create(user=agent, scope="agent")  # revokes the first

    answers = [keyed(revoked, REMOTE_ADDR="192.0.2.1").get(patient_url) for _ in range(3)]

    assert [r.status_code for r in answers] == [401, 401, 429]


# --- inactive users and nurses ------------------------------------------------------------------------------


def test_an_inactive_users_key_and_session_are_refused(patient_url):
    nurse = NurseFactory()
    key = api_token_create(user=nurse.user, scope="nurse")
    session = force_admin_login(APIClient(), nurse.user)
    assert keyed(key).get("/api/v1/tasks/").status_code == session.get("/api/v1/tasks/").status_code == 200

    nurse.user.is_active = False
    nurse.user.save(update_fields=["is_active"])

    by_key, by_session = keyed(key).get("/api/v1/tasks/"), session.get("/api/v1/tasks/")
    assert (by_key.status_code, error_code(by_key)) == (401, "account_inactive")
    assert (by_session.status_code, error_code(by_session)) == (401, "not_authenticated")


def _nurse_change_form(nurse, *, is_active: bool) -> dict:
    data = {
        "first_name": nurse.user.first_name,
        "last_name": nurse.user.last_name,
        "email": nurse.email,
        "phone": nurse.phone,
        "preferred_channel": nurse.preferred_channel,
        "max_open_tasks": str(nurse.max_open_tasks),
        "shifts-TOTAL_FORMS": "0",
        "shifts-INITIAL_FORMS": "0",
        "shifts-MIN_NUM_FORMS": "0",
        "shifts-MAX_NUM_FORMS": "1000",
    }
    if is_active:
        data["is_active"] = "on"
    return data


def test_a_nurse_deactivated_in_admin_loses_api_and_admin_access_at_once(admin_client):
    nurse = NurseFactory()
    task = EscalationTaskFactory(assigned_to=nurse, status="ASSIGNED", assigned_at=timezone.now())
    key = api_token_create(user=nurse.user, scope="nurse")
    session = force_admin_login(APIClient(), nurse.user)
    change = reverse("admin:tasks_app_nurse_change", args=[nurse.pk])
    assert keyed(key).get(f"/api/v1/tasks/{task.pk}/").status_code == 200

    saved = admin_client.post(change, _nurse_change_form(nurse, is_active=False))

    assert saved.status_code == 302, saved.context["adminform"].errors if saved.context else saved
    nurse.refresh_from_db()
    assert (nurse.is_active, nurse.user.is_active) == (False, False)
    by_key = keyed(key).get(f"/api/v1/tasks/{task.pk}/")
    assert (by_key.status_code, error_code(by_key)) == (401, "account_inactive")
    assert session.get(f"/api/v1/patients/{task.patient_id}/").status_code == 401
    assert keyed(key).post(f"/api/v1/tasks/{task.pk}/resolve/", {"resolution": "x"}, format="json").status_code == 401

    admin_client.post(change, _nurse_change_form(nurse, is_active=True))
    assert keyed(key).get(f"/api/v1/tasks/{task.pk}/").status_code == 200  # reactivated, she is back


def test_a_nurse_added_in_admin_is_in_the_nurse_group_and_reaches_her_tasks(admin_client):
    data = _nurse_change_form(NurseFactory.build(), is_active=True)
    data.update(first_name="Grace", last_name="Hopper", email="grace@hospital.example", phone="+14155550199")

    admin_client.post(reverse("admin:tasks_app_nurse_add"), data)

    nurse = Nurse.objects.get(email="grace@hospital.example")
    assert list(nurse.user.groups.values_list("name", flat=True)) == ["Nurse"]
    assert client_for(nurse.user).get("/api/v1/tasks/").status_code == 200
