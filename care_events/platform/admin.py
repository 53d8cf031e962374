"""The admin site, and admin building blocks shared by every app (model-free)."""

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.forms import otp_verification_failed
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from care_events.platform.mfa import totp_code_just_used


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
    (the usual case: one authenticator app) is not asked to pick it first. Its errors say what to do: a user with no
    authenticator is told to ask for one (not to "select a device"), and a code that has just opened a login (a
    code opens one) is told apart from a wrong one. Both only after the right password (clean_otp's `user`)."""

    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "token_required": "Enter the six-digit code your authenticator app shows.",
        "invalid_token": "That is not the code your authenticator app shows now: check it and try again.",
        "no_device": "No authenticator is enrolled for this account: ask an administrator.",
        "token_reused": "This code was just used: wait for the next one.",
    }

    def clean_otp(self, user: Any) -> None:
        if user is not None and not any(devices_for_user(user, confirmed=True)):
            otp_verification_failed.send(sender=self.__class__, user=user)
            raise ValidationError(self.otp_error_messages["no_device"], code="no_device")
        super().clean_otp(user)

    def _chosen_device(self, user: Any) -> Device | None:
        device = super()._chosen_device(user)
        if device is None:
            devices = list(devices_for_user(user, confirmed=True))
            device = devices[0] if len(devices) == 1 else None
        return device

    def _verify_token(self, user: Any, token: str, device: Device | None = None) -> Device | None:
        if isinstance(device, TOTPDevice) and device.verify_is_allowed()[0] and totp_code_just_used(device, token):
            # A failed verification, as django-otp counts them (the throttle, the audit trail), with its own words.
            device.throttle_increment()
            otp_verification_failed.send(sender=self.__class__, user=user)
            raise ValidationError(self.otp_error_messages["token_reused"], code="token_reused")
        return super()._verify_token(user, token, device)  # type: ignore[no-any-return]


class SequoraAdminSite(OTPAdminSite):
    """The admin site. With ADMIN_MFA_REQUIRED (the default; production refuses to turn it off) only a user verified
    by a one-time password from a confirmed device (TOTP: `manage.py enrol_totp <username>`) gets in: a password alone
    opens nothing. Every ModelAdmin registered here is audited (care_events/platform/audit/admin.py: AuditedAdmin).

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

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        from care_events.platform.audit.admin import AuditedAutocomplete

        return AuditedAutocomplete.as_view(admin_site=self)(request)  # type: ignore[return-value]

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        from care_events.platform.audit.admin import AuditedAdmin

        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditedAdmin):
            admin_class = type(
                admin_class.__name__, (AuditedAdmin, admin_class), {"__module__": admin_class.__module__}
            )
        super().register(model_or_iterable, admin_class, **options)
