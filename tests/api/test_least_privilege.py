"""A nurse's reach ends with her task; an API key dies with its user's password (docs/permissions.md)."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.hashers import make_password
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from care_events.platform.api_clients.models import ApiToken
from care_events.platform.api_clients.tokens import api_token_create
from care_events.platform.audit.models import AuditEntry
from tests.api.conftest import client_for
from tests.api.test_permissions import world as world  # the fixture
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory

pytestmark = pytest.mark.django_db


def patient_urls(world) -> list[str]:
    return [
        f"/api/v1/patients/{world.ids['patient']}/",
        f"/api/v1/episodes/{world.ids['episode']}/",
        f"/api/v1/interactions/{world.ids['interaction']}/",
        f"/api/v1/interactions/{world.ids['interaction']}/messages/",
    ]


@pytest.mark.parametrize("closing", ["resolve", "cancel"])
def test_a_nurse_loses_the_patient_hours_after_her_task_is_closed(world, settings, closing):
    settings.NURSE_ACCESS_AFTER_CLOSE_HOURS = 12
    nurse = client_for(world.users["nurse_a"])
    task = f"/api/v1/tasks/{world.ids['task']}/"
    assert {nurse.get(url).status_code for url in patient_urls(world)} == {200}
    start = timezone.now()

    with time_machine.travel(start, tick=False) as clock:
        if closing == "resolve":
            closed = nurse.post(task + "resolve/", {"resolution": "Called back, stable."}, format="json")
        else:
            closed = client_for(world.users["charge_nurse"]).post(task + "cancel/", {"reason": "dup"}, format="json")
        assert closed.status_code == 200, closed.content
        clock.shift(dt.timedelta(hours=11, minutes=59))
        within = {nurse.get(url).status_code for url in patient_urls(world)}
        clock.shift(dt.timedelta(minutes=2))
        after = {url: nurse.get(url).status_code for url in patient_urls(world)}
        feed = nurse.get("/api/v1/patient-messages/").json()["results"]

    assert within == {200}  # finishing her notes
    assert set(after.values()) == {404}  # the patient is no longer hers
    assert feed == []


def test_an_open_task_keeps_its_patient_however_old(world, settings):
    with time_machine.travel(timezone.now() + dt.timedelta(days=30)):
        assert client_for(world.users["nurse_a"]).get(patient_urls(world)[0]).status_code == 200


def test_with_no_hours_after_closing_only_open_tasks_give_access(settings):
    settings.NURSE_ACCESS_AFTER_CLOSE_HOURS = 0
    nurse = NurseFactory()
    resolved = EscalationTaskFactory(assigned_to=nurse, status="RESOLVED", resolved_at=timezone.now())

    assert client_for(nurse.user).get(f"/api/v1/patients/{resolved.patient_id}/").status_code == 404


def keyed(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_key_dies_with_a_password_change_of_its_user():
    nurse = NurseFactory()
    key = api_token_create(user=nurse.user, scope="nurse")
    assert keyed(key).get("/api/v1/tasks/").status_code == 200

    nurse.user.set_password("A-new-password-after-a-leak")
    nurse.user.save()

    refused = keyed(key).get("/api/v1/tasks/")
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "token_revoked")
    assert AuditEntry.objects.filter(action="token.revoke", detail__token_user_id=nurse.user.pk).count() == 1


def test_a_password_set_in_admin_kills_the_key_too(admin_client):
    nurse = NurseFactory()
    key = api_token_create(user=nurse.user, scope="nurse")
    url = reverse("admin:auth_user_password_change", args=[nurse.user.pk])

    response = admin_client.post(
        url, {"password1": "Another-long-password-9", "password2": "Another-long-password-9", "usable_password": "true"}
    )

    assert response.status_code == 302, response.context["form"].errors if response.context else response
    assert keyed(key).get("/api/v1/tasks/").status_code == 401


def test_a_password_assigned_directly_kills_the_key_too():
    nurse = NurseFactory()
    key = api_token_create(user=nurse.user, scope="nurse")

    nurse.user.password = make_password("Yet-another-password-7")
    nurse.user.save()

    assert ApiToken.objects.get(user=nurse.user).revoked_at is not None
    assert keyed(key).get("/api/v1/tasks/").status_code == 401


def test_other_saves_and_a_rehash_at_login_keep_the_key():
    nurse = NurseFactory()
    key = api_token_create(user=nurse.user, scope="nurse")

    nurse.user.first_name = "Grace"
    nurse.user.save()
    nurse.user.save(update_fields=["last_login"])
    # What check_password does when the hasher is newer than the stored hash: a rehash, not a new password.
    nurse.user.password = make_password("correct-horse-battery", hasher="md5")
    nurse.user._password = None
    nurse.user.save(update_fields=["password"])

    assert keyed(key).get("/api/v1/tasks/").status_code == 200
