"""One command creates the agent's service account and its token; run again it replaces the key at once, or with
--rotate keeps the old key for the overlap."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from care_events.platform.api_clients.models import ApiToken, IdempotencyRecord
from care_events.platform.api_clients.tokens import token_digest
from care_events.platform.roles import AGENT
from tests.api.conftest import client_for
from tests.care_events.factories import PatientFactory
from tests.tasks_app.factories import NurseFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_create_agent_token_creates_the_account_then_replaces_its_key():
    first = run("create_agent_token", "interaction-agent")
    second = run("create_agent_token", "interaction-agent")

    user = get_user_model().objects.get(username="interaction-agent")
    assert user.groups.filter(name=AGENT).exists()
    assert not user.has_usable_password()
    # Only the digests are stored, never a key; the first key is revoked, the second is the current one.
    old_token, token = ApiToken.objects.filter(user=user).order_by("created_at")
    assert (token.digest, token.prefix, token.scope) == (token_digest(second), second[:8], "agent")
    assert old_token.revoked_at is not None and token.revoked_at is None
    assert first != second and len(second) >= 43
    assert not ApiToken.objects.filter(digest__in=[first, second]).exists()
    patient = PatientFactory()
    old, new = client_for(None), client_for(None)
    old.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    new.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    refused = old.get(f"/api/v1/patients/{patient.pk}/")
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "token_revoked")  # stops at once
    assert new.get(f"/api/v1/patients/{patient.pk}/").status_code == 200


def test_create_api_token_for_a_nurse():
    nurse = NurseFactory()

    key = run("create_api_token", nurse.user.username)

    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/tasks/").status_code == 200
    assert ApiToken.objects.get(user=nurse.user).scope == "nurse"


def test_create_api_token_with_a_read_only_scope_then_rotate_keeps_it():
    nurse = NurseFactory()
    run("create_api_token", nurse.user.username, "--scope", "read-only")

    run("create_api_token", nurse.user.username, "--rotate")

    assert list(ApiToken.objects.filter(user=nurse.user).values_list("scope", flat=True)) == ["read-only"] * 2


def test_rotating_without_a_key_is_refused():
    nurse = NurseFactory()

    with pytest.raises(CommandError, match="no current key"):
        run("create_api_token", nurse.user.username, "--rotate")
    assert not ApiToken.objects.exists()


def test_create_api_token_refuses_an_unknown_user():
    with pytest.raises(CommandError):
        run("create_api_token", "nobody")
    assert not get_user_model().objects.filter(username="nobody").exists()


def test_prune_forgets_keys_older_than_the_ttl(agent_client, settings):
    body = {"first_name": "Ada", "last_name": "Moreno", "date_of_birth": "1948-05-17", "phone": "+12025550143"}
    agent_client.post("/api/v1/patients/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert run("prune_idempotency_records") == "Deleted 0 idempotency records."
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 0
    assert run("prune_idempotency_records") == "Deleted 1 idempotency records."
    assert not IdempotencyRecord.objects.exists()


def test_a_key_revoked_in_admin_or_of_an_inactive_user_is_refused(admin_client, agent):
    patient = PatientFactory()
    url = f"/api/v1/patients/{patient.pk}/"
    client = client_for(agent)
    assert client.get(url).status_code == 200

    token = ApiToken.objects.get(user=agent)
    listed = admin_client.get(reverse("admin:care_events_apitoken_changelist"))
    assert token.prefix in listed.content.decode()
    assert token.digest not in listed.content.decode()
    assert admin_client.get(reverse("admin:care_events_apitoken_change", args=[token.pk])).status_code == 200

    agent.is_active = False
    agent.save(update_fields=["is_active"])
    inactive = client.get(url)
    assert (inactive.status_code, inactive.json()["error"]["code"]) == (401, "account_inactive")
    agent.is_active = True
    agent.save(update_fields=["is_active"])
    assert client.get(url).status_code == 200

    changelist = reverse("admin:care_events_apitoken_changelist")
    admin_client.post(changelist, {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    revoked = client.get(url)
    assert (revoked.status_code, revoked.json()["error"]["code"]) == (401, "token_revoked")
    assert '<td class="field-state">revoked</td>' in admin_client.get(changelist).content.decode()
