"""Rows written on Django's auth signals and on API key changes (connected in CareEventsConfig.ready())."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from django_otp.forms import otp_verification_failed

from care_events.platform.api_clients.models import ApiToken
from care_events.platform.audit.models import AuditAction
from care_events.platform.audit.recording import current_request, entry_write

# A change of these fields is a new key (a rotation); anything else saved on the token row (a last-used time) is not.


@receiver(user_logged_in, dispatch_uid="care_events.platform.audit.login")
def record_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    entry_write(request, action=AuditAction.LOGIN, user=user)


@receiver(user_login_failed, dispatch_uid="care_events.platform.audit.login_failed")
def record_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kw: Any
) -> None:
    # Django has already replaced the password in `credentials` with stars; only the name tried is kept, if it is an
    # account's. django-axes (its receiver runs first) marks the request when this name and address are locked out.
    locked_out = getattr(request, "axes_locked_out", False)
    username, detail = _name_tried(str(credentials.get("username", "")))
    detail["reason"] = "locked_out" if locked_out else "credentials"
    entry_write(request, action=AuditAction.LOGIN_FAILED, username=username, detail=detail)


UNKNOWN_USER = "unknown user"


def _name_tried(name: str) -> tuple[str, dict[str, Any]]:
    """An account's name as it is; any other name as UNKNOWN_USER and a keyed hash (HMAC with the secret key, 64 bits):
    a password typed into the name field is never kept, while repeated tries of one name still line up."""
    if get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: name}).exists():
        return name, {}
    return UNKNOWN_USER, {"username_hash": salted_hmac("audit.login.username", name).hexdigest()[:16]}


@receiver(otp_verification_failed, dispatch_uid="care_events.platform.audit.otp_failed")
def record_otp_failed(sender: Any, user: Any, **kwargs: Any) -> None:
    """The password was right but the one-time password was not: the login is refused (admin)."""
    entry_write(None, action=AuditAction.LOGIN_FAILED, user=user, detail={"reason": "otp"})


@receiver(user_logged_out, dispatch_uid="care_events.platform.audit.logout")
def record_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    entry_write(request, action=AuditAction.LOGOUT, user=user)


@receiver(post_save, sender=ApiToken, dispatch_uid="care_events.platform.audit.token_saved")
def record_token_saved(
    sender: type[ApiToken], instance: ApiToken, created: bool, update_fields: frozenset[str] | None, **kwargs: Any
) -> None:
    """A key's life is row changes (care_events/platform/api_clients/tokens.py): created is an insert (a rotation
    inserts its successor too), rotated sets `rotated_at`, revoked sets `revoked_at`. Any other save (none today; the
    last use is written with QuerySet.update, which sends no signal) is not a step of its life."""
    changed = update_fields or frozenset()
    if created:
        _record_token(instance, AuditAction.TOKEN_CREATE)
    elif "revoked_at" in changed:
        _record_token(instance, AuditAction.TOKEN_REVOKE)
    elif "rotated_at" in changed:
        _record_token(instance, AuditAction.TOKEN_ROTATE)


@receiver(post_delete, sender=ApiToken, dispatch_uid="care_events.platform.audit.token_deleted")
def record_token_deleted(sender: type[ApiToken], instance: ApiToken, **kwargs: Any) -> None:
    _record_token(instance, AuditAction.TOKEN_REVOKE)


def _record_token(token: ApiToken, action: AuditAction) -> None:
    """Who acted is the request's user (admin, the API), or nobody (a management command run on the server)."""
    entry_write(
        current_request.get(),
        action=action,
        objects=[token],
        detail={"token_user_id": token.user_id, "token_prefix": token.prefix},
    )
