"""Writing the audit trail: one INSERT per audited request, login, logout or API key change.

`AuditMiddleware` writes the row of every authenticated API request (`/api/v1/`; anonymous ones are counted per
address and minute: anonymous.py) and of every request a view noted (admin pages, through `AuditedAdmin`), once the
response is known: who (the user DRF or the session authenticated, how), from
where, what (the action, the route, the objects in the response or noted, their patients) and the status code.
Rows written outside the middleware (login signals, API key signals) take who and where from the request being
served, if any.

A failed write is never silent: the middleware answers 503 instead of the view's response, so PHI never leaves
without its row (a write the view made is committed by then; the 503 says the access could not be recorded).
"""

import contextvars
import ipaddress
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models
from django.db.models import Func, Value
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.serializers import ListSerializer

from care_events.platform.audit.anonymous import anonymous_request_count
from care_events.platform.audit.models import AuditAction, AuditEntry, AuthMethod
from care_events.platform.audit.notes import AuditNote, patient_paths, request_note
from care_events.platform.request_id import request_id_var
from care_events.platform.rest.errors import (
    DATABASE_UNAVAILABLE,
    RETRY_AFTER_SECONDS,
    answered_database_unavailable,
    database_unavailable,
    error_body,
)

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
# Paths recorded as API requests: the REST API, and the FHIR intake (intake/fhir/), which uses the same keys.
API_PREFIXES = (API_PREFIX, "/fhir/")

# Admin pages that show no record: the login and logout (recorded as `login` and `logout` rows by the auth signals)
# and the JavaScript translations every form page loads. Every other page of admin (the care team's screens are
# admin pages too) is recorded for a signed-in user, whether or not its view noted what it showed.
UNRECORDED_ADMIN_ROUTES = frozenset({"admin:login", "admin:logout", "admin:jsi18n"})

# The request being served, for rows written by signals that are not given it (an API key deleted in admin).
current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("audit_request", default=None)


def client_address(request: HttpRequest) -> str | None:
    """The caller's address: REMOTE_ADDR, or, behind TRUSTED_PROXY_COUNT proxies, the address the farthest trusted
    proxy saw (that many entries from the right of X-Forwarded-For; the entries left of it are the client's own
    claims, which anyone can forge). django-axes counts failed logins by this address too."""
    address = request.META.get("REMOTE_ADDR")
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops > 0 and forwarded:
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        if chain:
            address = chain[-min(hops, len(chain))]
    try:
        return str(ipaddress.ip_address(address or ""))
    except ValueError:
        return None


def entry_write(
    request: HttpRequest | None,
    *,
    action: str,
    user: Any = None,
    username: str | None = None,
    status_code: int | None = None,
    audit_note: AuditNote | None = None,
    objects: Iterable[models.Model] = (),
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one row. `user` defaults to the request's; `username` names who tried when nobody logged in."""
    request = request if request is not None else current_request.get()
    noted = audit_note.detail if audit_note is not None else {}
    fields: dict[str, Any] = {"action": action, "status_code": status_code, "detail": {**noted, **(detail or {})}}
    fields.update(_who(request, user))
    if username is not None:
        fields["username"] = username[:150]
    if request is not None:
        match = request.resolver_match
        fields.update(
            client_address=client_address(request),
            request_id=request_id_var.get() or "",
            method=request.method or "",
            route=(match.view_name if match else "")[:200],
            path=request.path[:500],
        )
    fields.update(_what(audit_note, list(objects)))
    return AuditEntry.objects.create(**fields)


def _who(request: HttpRequest | None, user: Any) -> dict[str, Any]:
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # The groups' names in the same INSERT (a subquery), not a query of their own.
    roles: Any = ArraySubquery(Group.objects.filter(user=user.pk).order_by("name").values("name"))
    if user.is_superuser:
        roles = Func(
            Value(["superuser"]), roles, function="array_cat", output_field=AuditEntry._meta.get_field("roles")
        )
    who = {"user_id": user.pk, "username": user.get_username(), "roles": roles, "auth_method": AuthMethod.SESSION}
    auth = getattr(request, "auth", None)  # DRF sets it on Django's request too: the ApiToken row
    if auth is not None and hasattr(auth, "prefix"):
        who.update(auth_method=AuthMethod.TOKEN, token_prefix=auth.prefix)
    elif getattr(user, "is_verified", lambda: False)():  # django-otp's middleware adds is_verified
        who["auth_method"] = AuthMethod.SESSION_OTP
    return who


def _authenticated(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)  # DRF sets the user it authenticated on Django's request too
    return user is not None and user.is_authenticated


def _what(audit_note: AuditNote | None, objects: list[models.Model]) -> dict[str, Any]:
    model: type[models.Model] | None = None
    ids: list[Any] = []
    patients: set[uuid.UUID] = set()
    if audit_note is not None:
        model, ids, patients = audit_note.model, list(audit_note.object_ids), set(audit_note.patient_ids)
    if objects:
        model, ids = type(objects[0]), ids + [obj.pk for obj in objects]
    if model is None:
        return {"patient_ids": sorted(patients)}
    patients |= _patients_of(model, ids, objects)
    return {
        "object_type": model._meta.label_lower,
        "object_ids": list(dict.fromkeys(str(pk) for pk in ids)),  # an id noted as text and as a UUID is one
        "patient_ids": sorted(patients),
    }


def _patients_of(model: type[models.Model], ids: list[Any], objects: list[models.Model]) -> set[uuid.UUID]:
    """The patients of these rows: read off the objects when what leads to them is loaded, else in one SELECT."""
    paths = patient_paths(model)
    ids = _valid_keys(model, ids)
    if paths is None or not ids:
        return set()
    values = [_loaded_value(obj, path) for obj in objects for path in paths] if objects else [_NOT_LOADED]
    if _NOT_LOADED in values:
        rows = model._default_manager.filter(pk__in=ids).values_list(*paths)
        values = [value for row in rows for value in row]
    return {uuid.UUID(str(value)) for value in values if value is not None}


_NOT_LOADED = object()


def _loaded_value(obj: models.Model | None, path: str) -> Any:
    """The value at `path` ("episode__patient_id") if every relation on the way is loaded already (the selectors'
    select_related), else _NOT_LOADED: following an unloaded relation would cost a query per row."""
    *relations, attribute = path.split("__")
    for name in relations:
        if obj is None:
            return None
        field = obj._meta.get_field(name)
        if not field.is_cached(obj):  # type: ignore[union-attr]
            return _NOT_LOADED
        obj = getattr(obj, name)
    return None if obj is None else getattr(obj, "pk" if attribute == "pk" else attribute)


def _valid_keys(model: type[models.Model], ids: list[Any]) -> list[Any]:
    """The ids that can be primary keys of `model` (an admin URL can carry anything: it is then a 404 page)."""
    valid = []
    for pk in ids:
        try:
            valid.append(model._meta.pk.to_python(pk))  # type: ignore[union-attr]
        except ValidationError:
            continue
    return valid


def _returned_objects(response: HttpResponse) -> tuple[list[models.Model], bool]:
    """The model instances a DRF response serialized, and whether it was a list. The serializer is kept on the
    data it produced (`ReturnDict.serializer`), also inside a page (`{"results": [...]}`)."""
    data = getattr(response, "data", None)
    is_list = isinstance(data, list)
    if isinstance(data, dict) and hasattr(data.get("results"), "serializer"):
        data, is_list = data["results"], True
    serializer = getattr(data, "serializer", None)
    instance = getattr(serializer, "instance", None)
    if isinstance(instance, models.Model):
        return [instance], False
    if isinstance(serializer, ListSerializer) and instance is not None:
        return [obj for obj in instance if isinstance(obj, models.Model)], True
    return [], is_list


def _is_admin_page(request: HttpRequest) -> bool:
    """A page of the admin site served to a signed-in user: recorded even if its view noted nothing (fail closed: a
    new page that forgot to say what it showed still leaves a row with who, which page and when)."""
    match = request.resolver_match
    if match is None or "admin" not in match.namespaces or match.view_name in UNRECORDED_ADMIN_ROUTES:
        return False
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated


def _api_action(method: str, is_list: bool) -> str:
    if method in ("GET", "HEAD", "OPTIONS"):
        return AuditAction.API_LIST if is_list else AuditAction.API_READ
    return AuditAction.API_WRITE


def _admin_action(method: str) -> str:
    return AuditAction.ADMIN_VIEW if method in ("GET", "HEAD", "OPTIONS") else AuditAction.ADMIN_CHANGE


class AuditMiddleware:
    """Right after RequestIdMiddleware: it sees every response (a CSRF refusal, an error page) and the request id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(request)
        try:
            response = self.get_response(request)
            if answered_database_unavailable(response):
                # PostgreSQL out of reach: the 503 shows and changes nothing, and a second try at the database here
                # would only make the client wait a connect timeout more for the same answer.
                return response
            audit_note = request_note(request)
            is_api = request.path.startswith(API_PREFIXES)
            if not is_api and audit_note is None and not _is_admin_page(request):
                return response
            objects: list[models.Model] = []
            action = audit_note.action if audit_note is not None else None
            if is_api:
                objects, is_list = _returned_objects(response)
                action = action or _api_action(request.method or "", is_list)
                if audit_note is not None and audit_note.model is not None:
                    objects = []  # what the view noted is what it showed: its note wins over the serializer
            try:
                if is_api and not _authenticated(request):
                    # No data reached (401, 429): counted per address and minute, not a row each (anonymous.py).
                    anonymous_request_count(client_address=client_address(request), status_code=response.status_code)
                    return response
                entry_write(
                    request,
                    action=action or _admin_action(request.method or ""),
                    status_code=response.status_code,
                    audit_note=audit_note,
                    objects=objects,
                )
            except DATABASE_UNAVAILABLE as exc:
                # The database went out of reach after the view: the answer is withheld, as the service is down.
                logger.error("audit entry not written for %s %s: %s", request.method, request.path, type(exc).__name__)
                return database_unavailable(request)
            except DatabaseError as exc:
                return self._not_recorded(request, exc)
            return response
        finally:
            current_request.reset(token)

    @staticmethod
    def _not_recorded(request: HttpRequest, exc: DatabaseError) -> HttpResponse:
        # The class only: a database error's text can quote the row (docs/architecture.md: no PHI in logs).
        logger.error("audit entry not written for %s %s: %s", request.method, request.path, type(exc).__name__)
        body = error_body("audit_unavailable", "The access could not be recorded; retry shortly.")
        return JsonResponse(body, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
