"""The audit trail of a page inside admin that is not one of a ModelAdmin's own views (the care team's screens).

`AuditedScreen` notes what the page did (a read for GET and HEAD, a change otherwise) when it is dispatched, and what
it shows once its context is built: every such screen says which rows it shows (`audit_shown`), or it fails to
render. AuditMiddleware then writes the row; an admin page that noted nothing is still written, by the middleware
(docs/audit.md, "Every page of admin").
"""

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponseBase

from care_events.platform.audit.models import AuditAction
from care_events.platform.audit.notes import note


class AuditedScreen:
    """A mixin for a class-based view: `audit_read_action` is what a GET records (a page of many rows says
    `admin.list`); `audit_shown(context)` returns the model instances the page shows (one model: the page's
    rows; their patients are found as for any other row)."""

    audit_read_action: str = AuditAction.ADMIN_VIEW
    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        read = request.method in ("GET", "HEAD")
        note(request, action=self.audit_read_action if read else AuditAction.ADMIN_CHANGE)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc, no-any-return]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        note(self.request, objects=self.audit_shown(context))
        return context

    def audit_shown(self, context: dict[str, Any]) -> Iterable[models.Model]:
        raise NotImplementedError(f"{type(self).__name__} must say which rows it shows (audit_shown)")
