"""User accounts, roles and authenticators in admin: least privilege for the people who manage them.

- Only a superuser makes a superuser or an Administrator, changes (or deletes, or sets the password of) an account
  that is either, or gives a user permissions of her own: an Administrator manages the other roles' accounts, not her
  own nor her peers'. Her form shows *Superuser status* and *User permissions* read-only and offers every group but
  Administrator; a group id slipped into the form is refused by its validation, and nothing is saved.
- Roles (groups) are code (care_events/platform/roles.py, applied by every `migrate`): read-only in admin.
- An authenticator's secret (TOTPDevice.key) and its otpauth:// URL are shown once, to the person, by
  `manage.py enrol_totp`; admin lists devices and removes a lost one, never shows or makes one.
- Each change of an account notes which fields changed (names only: never a value, never a password's hash) in the
  page's audit row (`detail.changed`).

Registered by care_events/admin.py, in place of django.contrib.auth's and django-otp's own pages.
"""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django_otp.plugins.otp_totp.models import TOTPDevice

from care_events.platform.admin import ReadOnlyAdmin
from care_events.platform.audit.models import AuditAction
from care_events.platform.audit.notes import note
from care_events.platform.roles import ADMINISTRATOR

SUPERUSER_ONLY_FIELDS = ("is_superuser", "user_permissions")


def is_privileged(user: User) -> bool:
    """A superuser or an Administrator: only a superuser changes such an account."""
    return user.is_superuser or user.groups.filter(name=ADMINISTRATOR).exists()


def changed_fields(form: Any) -> list[str]:
    """The names of the form's changed fields; the password fields (`password1`, `password2`...) as `password`."""
    return sorted({"password" if name.startswith("password") else name for name in form.changed_data})


class UserAdmin(DjangoUserAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else fields + SUPERUSER_ONLY_FIELDS  # type: ignore[union-attr]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "groups" and not request.user.is_superuser:  # type: ignore[union-attr]
            kwargs["queryset"] = Group.objects.exclude(name=ADMINISTRATOR)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not request.user.is_superuser and is_privileged(obj):  # type: ignore[union-attr]
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not request.user.is_superuser and is_privileged(obj):  # type: ignore[union-attr]
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        note(request, detail={"changed": changed_fields(form)})

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and isinstance(response, HttpResponseRedirect):  # the new password was set
            note(request, action=AuditAction.ADMIN_CHANGE, model=User, ids=[id], detail={"changed": ["password"]})
        return response


class GroupAdmin(ReadOnlyAdmin, DjangoGroupAdmin):
    """The roles: what each holds is roles.py's, applied by `migrate`; an edit here would be undone by the next."""

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return ["name", "permissions"]


class TOTPDeviceAdmin(admin.ModelAdmin):
    """Whose authenticators exist and when they were last used; removing one makes its user enrol again. Never the
    key, the otpauth:// URL or a QR code (django-otp's own page shows them)."""

    list_display = ("user", "name", "confirmed", "last_used_at")
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = ("user", "created_at", "last_used_at")
    search_fields = ("user__username",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # `manage.py enrol_totp`: the secret goes to the person, not to a page


def accounts_admin_register(site: admin.AdminSite) -> None:
    """Replace the pages django.contrib.auth and django-otp registered with the ones above."""
    for model, model_admin in ((User, UserAdmin), (Group, GroupAdmin), (TOTPDevice, TOTPDeviceAdmin)):
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)
