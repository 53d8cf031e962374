"""Who may call each endpoint: the Django permissions each method of a view needs (docs/permissions.md).

Every API view says, per HTTP method, which permissions the caller must hold:

    required_perms = {"GET": ("care_events.view_patient",), "POST": ("care_events.add_patient",)}

and HasRequiredPermissions (DEFAULT_PERMISSION_CLASSES) checks them with `user.has_perms`, never `is_staff`, after
refusing a browser session that no one-time password verified (403 `second_factor_required`).
The roles that hold them are groups (care_events/platform/roles.py). An API token's scope narrows them further
(care_events/platform/api_clients/models.py: ApiToken.allows). Which *rows* a permission reaches is the selectors' job:
a nurse's queryset holds only her own tasks and their patients, so another nurse's task is a 404.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from care_events.platform.rest.throttling import anonymous_rate_check

if TYPE_CHECKING:  # rest_framework.views loads this module (DEFAULT_PERMISSION_CLASSES) while it loads
    from rest_framework.views import APIView

# The permissions each method of a view needs. HEAD is answered as GET; OPTIONS (a description of the endpoint,
# listing only the methods the caller may use) needs a signed-in user and nothing more.
RequiredPerms = Mapping[str, tuple[str, ...]]


def required_perms(view: "APIView", method: str) -> tuple[str, ...] | None:
    """The permissions `method` needs on `view`, or None when the view does not say (refused: fail closed)."""
    perms: RequiredPerms = getattr(view, "required_perms", {})
    return perms.get("GET" if method == "HEAD" else method)


def _second_factor_verified(request: Request) -> bool:
    """A session (no API key: `request.auth` None) is served only once admin's login verified it with a one-time
    password (django-otp's `is_verified`), the one gate of every person's login: a session a password alone opened
    reaches nothing. ADMIN_MFA_REQUIRED off (a developer's own copy; production refuses it) lets any session in, as
    it lets one into admin."""
    if not settings.ADMIN_MFA_REQUIRED:
        return True
    is_verified = getattr(request.user, "is_verified", None)  # django_otp.middleware.OTPMiddleware adds it
    return bool(is_verified and is_verified())


class HasRequiredPermissions(BasePermission):
    message = "Your permissions do not allow this."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        method = request.method or ""
        if not request.user.is_authenticated:
            # DRF answers 401 (not 403) to a request without credentials; it checks permissions before throttles, so
            # an anonymous caller's rate is counted here (429 past API_ANON_RATE_LIMIT).
            anonymous_rate_check(request, view)
            return False
        if request.auth is None and not _second_factor_verified(request):
            self.message = (
                "This session was opened without a one-time password: sign in at /admin/ with your authenticator "
                "app's code, or use an API key."
            )
            self.code = "second_factor_required"
            return False
        if method == "OPTIONS" or not hasattr(view, method.lower()):
            return True  # OPTIONS describes; a method the view lacks is answered 405 by the view
        perms = required_perms(view, method)
        if perms is None:
            return False
        token = request.auth
        if token is not None and not token.allows(method=method, perms=perms):
            self.message = f"This API token's scope ({token.scope}) does not allow this."
            self.code = "insufficient_scope"
            return False
        return request.user.has_perms(perms)
