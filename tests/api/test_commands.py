"""One command creates the agent's service account and its token, and rotates the token when run again."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from care_events.api_clients.models import ApiToken, IdempotencyRecord
from care_events.api_clients.tokens import token_digest
from config.rest.permissions import AGENT_GROUP
from tests.api.conftest import client_for
from tests.care_events.factories import PatientFactory
from tests.tasks_app.factories import NurseFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_create_agent_token_creates_the_account_then_rotates_its_key():
    first = run("create_agent_token", "interaction-agent")
    second = run("create_agent_token", "interaction-agent")

    user = get_user_model().objects.get(username="interaction-agent")
    assert user.groups.filter(name=AGENT_GROUP).exists()
    assert not user.has_usable_password()
    # Only the digest of the current key is stored; neither key is.
    [token] = ApiToken.objects.filter(user=user)
    assert (token.digest, token.prefix) == (token_digest(second), second[:8])
    assert first != second and len(second) >= 43
    assert not ApiToken.objects.filter(digest__in=[first, second]).exists()
    patient = PatientFactory()
    old, new = client_for(None), client_for(None)
    old.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    new.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert old.get(f"/api/v1/patients/{patient.pk}/").status_code == 401  # the rotated key stops working
    assert new.get(f"/api/v1/patients/{patient.pk}/").status_code == 200


def test_create_api_token_for_a_nurse():
    nurse = NurseFactory()

    key = run("create_api_token", nurse.user.username)

    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/tasks/").status_code == 200


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
    assert client.get(url).status_code == 401
    agent.is_active = True
    agent.save(update_fields=["is_active"])
    assert client.get(url).status_code == 200

    admin_client.post(reverse("admin:care_events_apitoken_delete", args=[token.pk]), {"post": "yes"})
    assert not ApiToken.objects.filter(user=agent).exists()
    assert client.get(url).status_code == 401
