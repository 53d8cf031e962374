"""Filters of the logging configuration (config/settings/logs.py): what a log line of a client's mistake holds, and
that no line holds a query string."""

import logging

from django.http import HttpRequest


class ClientErrorsOnOneLine(logging.Filter):
    """A 4xx answer is the client's mistake (a missing permission, a bad request): Django logs it with the exception
    that made it (PermissionDenied, SuspiciousOperation) and that exception's traceback, some 26 lines that say no
    more than the first. Such a record keeps its one line (method, path, status); a 5xx keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


class NoQueryStrings(logging.Filter):
    """No query string in any log line: a search's `?mrn=…&dob=…&phone=…` is PHI. Django attaches the request to the
    records of its 4xx and 5xx lines (`request`, which a JSON formatter writes out whole, query included): it becomes
    "METHOD /path" (gunicorn's access log has no query either: config/gunicorn.py). Put it last on a handler, after
    RequestIdFilter (which reads the request id from that request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            record.request = f"{request.method} {request.path}"
        return True
