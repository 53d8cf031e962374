"""A filter of the logging configuration (config/settings/logs.py): what a log line of a client's mistake holds."""

import logging


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
