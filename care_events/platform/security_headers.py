"""The Permissions-Policy header: browser features this service never uses are turned off for its pages and
anything they load. The Content-Security-Policy comes from django-csp, Referrer-Policy and X-Content-Type-Options
from Django's SecurityMiddleware (config/settings/base.py, "Security headers")."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

PERMISSIONS_POLICY_HEADER = "Permissions-Policy"


def permissions_policy(features: dict[str, list[str]]) -> str:
    """`{"camera": [], "fullscreen": ["self"]}` → `camera=(), fullscreen=(self)` (the header's structured syntax)."""
    return ", ".join(f"{feature}=({' '.join(allowed)})" for feature, allowed in features.items())


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = permissions_policy(settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault(PERMISSIONS_POLICY_HEADER, self.header)
        return response
