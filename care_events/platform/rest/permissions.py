"""Who may call each endpoint: the Django permissions each method of a view needs (docs/permissions.md).

Every API view says, per HTTP method, which permissions the caller must hold:

    required_perms = {"GET": ("care_events.view_patient",), "POST": ("care_events.add_patient",)}

and HasRequiredPermissions (DEFAULT_PERMISSION_CLASSES) checks them with `user.has_perms`, never `is_staff`.
The roles that hold them are groups (care_events/platform/roles.py). An API token's scope narrows them further
(care_events/platform/api_clients/models.py: ApiToken.allows). Which *rows* a permission reaches is the selectors' job:
a nurse's queryset holds only her own tasks and their patients, so another nurse's task is a 404.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:  # rest_framework.views loads this module (DEFAULT_PERMISSION_CLASSES) while it loads
    from rest_framework.views import APIView

# The permissions each method of a view needs. HEAD is answered as GET; OPTIONS (a description of the endpoint,
# listing only the methods the caller may use) needs a signed-in user and nothing more.
RequiredPerms = Mapping[str, tuple[str, ...]]


def required_perms(view: "APIView", method: str) -> tuple[str, ...] | None:
    """The permissions `method` needs on `view`, or None when the view does not say (refused: fail closed)."""
    perms: RequiredPerms = getattr(view, "required_perms", {})
    return perms.get("GET" if method == "HEAD" else method)


class HasRequiredPermissions(BasePermission):
    message = "Your permissions do not allow this."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        method = request.method or ""
        if not request.user.is_authenticated:
            return False  # DRF answers 401 (not 403) to a request without credentials
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
