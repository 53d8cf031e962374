"""Logins, failed logins, logouts and API key changes each leave a row, whoever made them."""

import pytest
from django.urls import reverse

from care_events.platform.api_clients.models import ApiToken
from care_events.platform.api_clients.tokens import api_token_create, api_token_rotate
from care_events.platform.audit.models import AuditEntry
from tests.helpers import admin_login
from tests.tasks_app.factories import NurseFactory, nurse_with_login

pytestmark = pytest.mark.django_db


def test_an_admin_login_and_logout_are_recorded(client, admin_user):
    admin_login(client, admin_user)
    client.post(reverse("admin:logout"))

    login, logout = AuditEntry.objects.filter(action__in=["login", "logout"]).order_by("id")
    assert (login.user_id, login.username, login.route, login.client_address) == (
        admin_user.pk,
        "admin",
        "admin:login",
        "127.0.0.1",
    )
    assert (logout.user_id, logout.route) == (admin_user.pk, "admin:logout")


def admin_form(username: str, password: str) -> dict:
    return {"username": username, "password": password, "otp_token": ""}


def test_a_failed_login_keeps_the_name_tried_and_never_the_password(client):
    nurse = NurseFactory()

    response = client.post(reverse("admin:login"), admin_form(nurse.user.username, "Wrong-password-42"))

    assert response.status_code == 200  # the form again, with its error
    entry = AuditEntry.objects.get(action="login.failed")
    assert (entry.user_id, entry.username, entry.path) == (None, nurse.user.username, "/admin/login/")
    assert "Wrong-password-42" not in str(AuditEntry.objects.values().get(pk=entry.pk))


def test_a_name_that_is_no_account_is_kept_as_a_keyed_hash_never_as_typed(client):
    """A password typed into the name field by mistake must not stay in the trail for ever."""
    typed = "Kq8#vT2!mZpL-my-password"

    client.post(reverse("admin:login"), admin_form(typed, "whatever-else"))
    client.post(reverse("admin:login"), admin_form(typed, "again"))

    first, second = AuditEntry.objects.filter(action="login.failed").order_by("id")
    assert first.username == second.username == "unknown user"
    assert first.detail["username_hash"] == second.detail["username_hash"]  # repeated tries still line up
    assert len(first.detail["username_hash"]) == 16
    assert typed not in str(list(AuditEntry.objects.values()))


def test_a_session_login_is_recorded(client):
    nurse = nurse_with_login()

    admin_login(client, nurse.user, password="correct-horse-battery")

    entry = AuditEntry.objects.get(action="login")
    assert entry.user_id == nurse.user_id


def test_creating_rotating_and_revoking_a_key_are_recorded(admin_client, admin_user):
    nurse = NurseFactory()
    first = api_token_create(user=nurse.user, scope="nurse")  # a management command: nobody is logged in
    second = api_token_rotate(user=nurse.user)
    new = ApiToken.objects.get(prefix=second[:8])

    admin_client.post(
        reverse("admin:care_events_apitoken_changelist"), {"action": "revoke", "_selected_action": [new.pk]}
    )

    rows = list(AuditEntry.objects.filter(action__startswith="token.").order_by("id"))
    assert (
        [(row.action, row.detail["token_prefix"]) for row in rows]
        == [
            ("token.create", first[:8]),
            ("token.rotate", first[:8]),  # the old key, valid for the overlap
            ("token.create", second[:8]),  # its successor
            ("token.revoke", second[:8]),
        ]
    )
    assert (rows[0].user_id, rows[0].object_ids) == (None, [str(ApiToken.objects.get(prefix=first[:8]).pk)])
    assert rows[0].detail["token_user_id"] == nurse.user_id
    # Revoked in admin: the row names the administrator who did it, from her request.
    assert (rows[-1].user_id, rows[-1].auth_method, rows[-1].detail["token_user_id"]) == (
        admin_user.pk,
        "session+otp",
        nurse.user_id,
    )


def test_saving_a_key_without_changing_its_life_is_not_recorded():
    nurse = NurseFactory()
    api_token_create(user=nurse.user, scope="nurse")
    token = ApiToken.objects.get(user=nurse.user)

    token.save(update_fields=["scope"])
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=token.created_at)  # as authentication writes it

    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["token.create"]
