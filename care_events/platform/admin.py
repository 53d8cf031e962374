"""The admin site, and admin building blocks shared by every app (model-free)."""

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.models import Device


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened (clinical, billing and audit trail): viewable, never edited by hand."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # On the list (obj None) the change permission lets a user run the admin's actions (a re-drive, a
        # cancel); a record itself is never edited by hand, so its page stays read-only.
        return obj is None and super().has_change_permission(request)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class OneDeviceAuthenticationForm(OTPAdminAuthenticationForm):
    """django-otp's admin login form, which asks for the device to check: a user with a single confirmed device
    (the usual case: one authenticator app) is not asked to pick it first."""

    def _chosen_device(self, user: Any) -> Device | None:
        device = super()._chosen_device(user)
        if device is None:
            devices = list(devices_for_user(user, confirmed=True))
            device = devices[0] if len(devices) == 1 else None
        return device


class SequoraAdminSite(OTPAdminSite):
    """The admin site. With ADMIN_MFA_REQUIRED (the default; production refuses to turn it off) only a user verified
    by a one-time password from a confirmed device (TOTP: `manage.py enrol_totp <username>`) gets in: a password
    alone opens nothing. Every ModelAdmin registered here is audited (care_events/platform/audit/admin.py:
    AuditedAdmin).

    The setting is read on each request, not when the site is built, so that it is the setting in force."""

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    @property  # type: ignore[override]
    def login_form(self) -> type[AdminAuthenticationForm]:
        return OneDeviceAuthenticationForm if settings.ADMIN_MFA_REQUIRED else AdminAuthenticationForm

    @property  # type: ignore[override]
    def login_template(self) -> str | None:
        return OTPAdminSite.login_template if settings.ADMIN_MFA_REQUIRED else None

    def has_permission(self, request: HttpRequest) -> bool:
        if not settings.ADMIN_MFA_REQUIRED:
            return AdminSite.has_permission(self, request)
        return super().has_permission(request)

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        from care_events.platform.audit.admin import AuditedAdmin

        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditedAdmin):
            admin_class = type(
                admin_class.__name__, (AuditedAdmin, admin_class), {"__module__": admin_class.__module__}
            )
        super().register(model_or_iterable, admin_class, **options)
