"""Least privilege for administrators (care_events/platform/accounts.py): only a superuser makes a superuser or an
Administrator; an authenticator's secret is never shown in admin; a change of an account names the fields changed."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from care_events.platform.audit.models import AuditEntry
from care_events.platform.roles import ADMINISTRATOR, NURSE, role_group
from tests.api.factories import AdministratorFactory
from tests.helpers import force_admin_login
from tests.tasks_app.factories import NurseFactory

pytestmark = pytest.mark.django_db


def change_url(user: User) -> str:
    return reverse("admin:auth_user_change", args=[user.pk])


def user_form(user: User, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "is_staff": "on" if user.is_staff else "",
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


@pytest.fixture
def administrator(client):
    user = AdministratorFactory()
    force_admin_login(client, user)
    return user


def test_an_administrator_cannot_make_herself_a_superuser(client, administrator):
    page = client.get(change_url(administrator))
    response = client.post(change_url(administrator), user_form(administrator, is_superuser="on"))

    administrator.refresh_from_db()
    assert not administrator.is_superuser
    assert response.status_code == 403  # her own account is an Administrator's: a superuser's to change
    assert page.status_code == 200 and 'name="is_superuser"' not in page.content.decode()  # shown, read-only


def test_an_administrator_cannot_make_a_nurse_a_superuser_or_grant_her_permissions(client, administrator):
    nurse = NurseFactory().user
    page = client.get(change_url(nurse)).content.decode()

    response = client.post(change_url(nurse), user_form(nurse, is_superuser="on", user_permissions=["1"]))

    nurse.refresh_from_db()
    assert response.status_code == 302  # saved: what she may change (nothing here), not the read-only fields
    assert not nurse.is_superuser and not nurse.user_permissions.exists()
    assert 'name="is_superuser"' not in page and 'name="user_permissions"' not in page


def test_an_administrator_cannot_give_the_administrator_group(client, administrator):
    nurse = NurseFactory().user
    admins = role_group(ADMINISTRATOR)
    page = client.get(change_url(nurse)).content.decode()

    response = client.post(change_url(nurse), user_form(nurse, groups=[str(admins.pk)]))

    assert response.status_code == 200  # the form again: not a choice she has
    assert "groups" in response.context["adminform"].form.errors
    assert not nurse.groups.filter(name=ADMINISTRATOR).exists()
    assert f'value="{admins.pk}"' not in page


def test_an_administrator_can_neither_change_nor_delete_a_peer_or_a_superuser(client, administrator, admin_user):
    peer = AdministratorFactory()
    for account in (peer, admin_user):
        password = reverse("admin:auth_user_password_change", args=[account.pk])
        assert (
            client.post(
                password, {"password1": "A-long-new-password-1", "password2": "A-long-new-password-1"}
            ).status_code
            == 403
        )
        assert client.post(reverse("admin:auth_user_delete", args=[account.pk]), {"post": "yes"}).status_code == 403
        assert User.objects.filter(pk=account.pk).exists()


def test_a_superuser_grants_the_administrator_group_and_the_change_is_recorded_by_field_name(client, admin_user):
    force_admin_login(client, admin_user)
    nurse = NurseFactory().user
    groups = [str(role_group(NURSE).pk), str(role_group(ADMINISTRATOR).pk)]

    response = client.post(change_url(nurse), user_form(nurse, groups=groups, is_superuser="on"))

    assert response.status_code == 302
    nurse.refresh_from_db()
    assert nurse.is_superuser and nurse.groups.filter(name=ADMINISTRATOR).exists()
    entry = AuditEntry.objects.get(action="admin.change", object_type="auth.user")
    assert entry.object_ids == [str(nurse.pk)] and entry.user_id == admin_user.pk
    assert entry.detail["changed"] == ["groups", "is_superuser"]


def test_a_password_set_in_admin_is_recorded_by_name_never_by_hash(client, administrator):
    nurse = NurseFactory().user
    url = reverse("admin:auth_user_password_change", args=[nurse.pk])

    response = client.post(url, {"password1": "A-long-new-password-1", "password2": "A-long-new-password-1"})

    assert response.status_code == 302
    nurse.refresh_from_db()
    entry = AuditEntry.objects.get(action="admin.change", object_type="auth.user")
    assert entry.detail == {"changed": ["password"]}
    assert nurse.password not in str(list(AuditEntry.objects.values()))


def test_roles_are_read_only_in_admin(client, administrator):
    nurses = role_group(NURSE)

    response = client.post(
        reverse("admin:auth_group_change", args=[nurses.pk]), {"name": "Superusers", "permissions": []}
    )

    assert response.status_code == 403
    assert Group.objects.filter(name=NURSE).exists()


def test_no_authenticator_secret_is_shown_in_admin_even_to_a_superuser(client, admin_user):
    force_admin_login(client, admin_user)
    device = TOTPDevice.objects.get(user=admin_user)

    pages = [
        client.get(reverse("admin:otp_totp_totpdevice_changelist")),
        client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk])),
    ]

    for page in pages:
        assert page.status_code == 200
        text = page.content.decode()
        assert device.key not in text and device.config_url not in text and "otpauth" not in text
    assert client.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 403
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code in (302, 404)
