"""The one error format of the API, and the one place any exception becomes it (`api_exception_handler`).

A domain rule's refusal is an ApplicationError (care_events/platform/errors.py), answered here with its status and
code; views do not catch them.

Every error body is `{"error": {"code": "...", "message": "...", "fields": {"field": ["message", ...]}}}`;
`fields` is present only for invalid input, nested fields are dotted (`data.episode_id`, `reason_codes.0`);
`existing_id` only for a 409 about an object that exists already (a patient's MRN), naming it.
Messages never quote a submitted value: the values of a clinical API are PHI
(docs/architecture.md#rules-that-cross-every-app).
"""

import logging
import sys
import traceback
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler, set_rollback

from care_events.platform.errors import ApplicationError, ObjectExistsError
from care_events.platform.rest.exceptions import PayloadTooLarge

logger = logging.getLogger(__name__)

# What a client waits before retrying while the database is unavailable.
RETRY_AFTER_SECONDS = 5
# PostgreSQL refused, out of reach (a connect or TCP timeout: config/settings/environment.py's `database`), or a
# statement cancelled by its timeout: the service is unavailable, not broken.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


# DRF's and Django's messages for these codes quote the submitted value ('"x" is not a valid choice.',
# 'Invalid pk "x" - object does not exist.'): replaced by messages that do not.
_SAFE_MESSAGES = {
    "invalid_choice": "Not one of the allowed values.",
    "does_not_exist": "No such object.",
}
# Fixed messages where DRF's own would quote request details (a media type, a parser's complaint).
_MESSAGES = {
    "parse_error": "The body is not valid JSON.",
    "unsupported_media_type": "Send a JSON body with Content-Type: application/json.",
    "invalid": "The request is invalid; see fields.",
    "not_acceptable": "This API answers in JSON only (Accept: application/json).",
    "method_not_allowed": "This method is not allowed on this path.",
    "error": "Internal server error.",
    "service_unavailable": "The service is briefly unavailable; retry shortly.",
}
# Messages we write that list allowed values: a submitted value close to one of them ("patient/discharge") is
# a substring of the list, not an echo.
_OUR_MESSAGES = {"unknown_event", "unknown_facility"}
_CODES = {"parse_error": "malformed_json", "error": "server_error"}


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    error: dict = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = fields
    return {"error": error}


def _submitted_strings(data: object) -> set[str]:
    """Every string of 3 characters or more in what the client sent. Iterative, one pass: a client's body never
    drives recursion or quadratic work here."""
    found: set[str] = set()
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and len(value) >= 3:
            found.add(value)
    return found


def _message(detail: object, submitted: set[str]) -> str:
    code = str(getattr(detail, "code", ""))
    message = _SAFE_MESSAGES.get(code, str(detail))
    if code in _OUR_MESSAGES:
        return message
    # The net under the rules above: whatever library wrote the message, a submitted value never comes back.
    if any(value in message for value in submitted):
        return "Enter a valid value."
    return message


def _flatten(detail: object, submitted: set[str], prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors → {"dotted.path": [messages]}."""
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        for key, value in detail.items():
            fields.update(_flatten(value, submitted, f"{prefix}.{key}" if prefix else str(key)))
        return fields
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        fields = {}
        for index, item in enumerate(detail):
            if item:  # a ListSerializer reports {} for its valid items
                fields.update(_flatten(item, submitted, f"{prefix}.{index}"))
        return fields
    items = detail if isinstance(detail, list) else [detail]
    return {prefix or api_settings.NON_FIELD_ERRORS_KEY: [_message(item, submitted) for item in items]}


def _request_strings(context: dict) -> set[str]:
    request = context.get("request")
    if request is None:
        return set()
    # Only a body already parsed: reading it here could raise again (the error may be about the body itself).
    data = getattr(request, "_full_data", None)
    return _submitted_strings(data) | _submitted_strings(dict(request.query_params))


def _django_validation_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    """A service's ValidationError (a message_dict keyed by field) as DRF's. A message built from the value
    itself (Django's `%(value)s` messages) is replaced, so that the value is not echoed."""
    errors = exc.error_dict if hasattr(exc, "error_dict") else {api_settings.NON_FIELD_ERRORS_KEY: exc.error_list}
    safe = DjangoValidationError(
        {
            field: [
                DjangoValidationError("Enter a valid value.", code=error.code)
                if error.params and "value" in error.params
                else error
                for error in field_errors
            ]
            for field, field_errors in errors.items()
        }
    )
    return exceptions.ValidationError(as_serializer_error(safe))


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, DjangoValidationError):
        return _django_validation_error(exc)
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if isinstance(exc, ApplicationError):
        return _application_error(exc)
    return exc


def _application_error(exc: ApplicationError) -> exceptions.APIException:
    """A domain refusal as DRF's exception of its status: with `fields`, a ValidationError (400 `invalid`, the
    fields flattened and checked like a serializer's; the messages the error wrote itself carry its code, so one
    listed in _OUR_MESSAGES is kept as written), otherwise its own code and message."""
    translated = (
        exceptions.ValidationError(exc.fields, code=exc.code)
        if exc.fields is not None
        else exceptions.APIException(exc.message, code=exc.code)
    )
    translated.status_code = exc.status
    return translated


def api_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: DRF's own handling (status, WWW-Authenticate, Retry-After), then our body.

    Anything unexpected becomes a generic 500 without details; the log line has the exception class and the
    traceback's code lines, but not the exception's message, which can quote row values (PHI).
    """
    original, exc = exc, _translate(exc)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        # PostgreSQL is down, out of reach or too slow: nothing was written (the request's transaction failed), and
        # retrying in a moment is right. 503 with Retry-After, never a bare 500.
        set_rollback()
        logger.error("database unavailable: %s", type(exc).__name__)
        return _marked(
            Response(
                error_body("service_unavailable", _MESSAGES["service_unavailable"]),
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        )
    response = exception_handler(exc, context)
    if response is None:
        set_rollback()
        view = type(context["view"]).__name__ if context.get("view") else "?"
        logger.error(
            "unhandled %s in %s\n%s", type(exc).__name__, view, "".join(traceback.format_tb(exc.__traceback__))
        )
        return Response(error_body("server_error", _MESSAGES["error"]), status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", _MESSAGES["invalid"], _flatten(exc.detail, _request_strings(context)))
        return response
    api_exc: exceptions.APIException
    if isinstance(exc, exceptions.APIException):
        api_exc = exc
    else:  # Django's Http404 / PermissionDenied, which DRF mapped
        api_exc = exceptions.NotFound() if response.status_code == 404 else exceptions.PermissionDenied()
    codes = api_exc.get_codes()
    code = codes if isinstance(codes, str) else "error"
    if isinstance(api_exc, exceptions.Throttled):
        message = f"Too many requests; retry after {api_exc.wait or 1} seconds."
    else:
        message = _MESSAGES.get(code, str(api_exc.detail))
    response.data = error_body(_CODES.get(code, code), message)
    if isinstance(original, ObjectExistsError):
        response.data["error"]["existing_id"] = str(original.existing_id)
    return response


# --- Django's own error views (a URL that matches nothing, an error outside DRF), JSON under /api/ -------------


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("not_found", "No such path."), status=404)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # it only ever answers 404; without this a POST with a session cookie would get a CSRF page
def api_path_not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """The last URL pattern under /api/: a JSON 404 even with DEBUG on (Django's handler404 is skipped then)."""
    hint = "" if request.path.endswith("/") else " API paths end with a slash."
    return JsonResponse(error_body("not_found", "No such path." + hint), status=404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return JsonResponse(error_body("payload_too_large", str(PayloadTooLarge(limit).detail)), status=413)
        return JsonResponse(error_body("bad_request", "Bad request."), status=400)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception: a database out of reach outside DRF (a screen, a session or
    # a middleware's query) is a 503 too.
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return database_unavailable(request)
    if _is_api(request):
        return JsonResponse(error_body("server_error", _MESSAGES["error"]), status=500)
    return defaults.server_error(request)


_SERVICE_UNAVAILABLE_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Service unavailable</title></head>'
    "<body><h1>Service unavailable</h1><p>The service is briefly unavailable; try again in a moment.</p></body>"
    "</html>"
)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The answer while the database is unavailable (DATABASE_UNAVAILABLE), outside DRF's views: 503 with
    Retry-After, the API's `service_unavailable` under /api/, a plain page on the screens."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if _is_api(request):
        body = error_body("service_unavailable", _MESSAGES["service_unavailable"])
        return _marked(JsonResponse(body, status=503, headers=headers))
    return _marked(HttpResponse(_SERVICE_UNAVAILABLE_PAGE, status=503, headers=headers))


_R = TypeVar("_R", bound=HttpResponse)


def _marked(response: _R) -> _R:
    response.database_unavailable = True  # type: ignore[attr-defined]
    return response


def answered_database_unavailable(response: HttpResponse) -> bool:
    """Whether `response` is the 503 of a database out of reach (the audit middleware writes no entry for it:
    nothing was shown or changed, and the database would not take the entry either)."""
    return bool(getattr(response, "database_unavailable", False))
