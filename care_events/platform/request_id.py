"""A request id for every web request: on its response, and on every log line written while it is served.

The id comes from the caller's `X-Request-ID` when it is a plain token (a proxy's or a load balancer's, so their logs
and ours can be joined), else a new one: a header is the caller's input, and anything longer or stranger could
forge or break log lines. It lives in a context variable, which follows the request into async views and
`sync_to_async` calls, and `RequestIdFilter` copies it onto each log record (`request_id`, None outside requests).
"""

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def request_id_from(value: str | None) -> str:
    """The caller's id if it is a sane token (at most 64 of A-Z a-z 0-9 . _ -), else a new random one."""
    if value is not None and _SANE.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE, so that whatever the other middleware log carries the id too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(HEADER))
        # On the request too: Django logs a 4xx or 5xx answer after this middleware has returned (outside the context
        # variable), with the request attached to the record.
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record. Put it on a handler: a logger's filters see only its own records, not
    those propagated from its children."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or getattr(getattr(record, "request", None), "request_id", None)
        return True
