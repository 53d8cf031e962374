"""The API reads JSON only, and no more of it than DATA_UPLOAD_MAX_MEMORY_SIZE bytes.

DRF reads the request stream itself, so Django's own size check (done only by `request.body`) never runs for
API requests: the limit is enforced here while reading.
"""

import io
import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from care_events.platform.rest.exceptions import PayloadTooLarge

# No body of this API nests deeper than a few levels; refusing deeper ones keeps every later walk over the data (the
# serializers, the error handler, the idempotency fingerprint) short and linear.
MAX_DEPTH = 32


def _depth_over(data: Any, limit: int) -> bool:
    """Whether `data` nests deeper than `limit` containers. Iterative: a client's body never drives recursion."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


class LimitedJSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: HttpRequest | io.BytesIO,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(limit)  # refused before a byte of it is read
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge(limit)
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as exc:  # nested deeper than Python's stack: malformed for us, not a server error
            raise ParseError() from exc
        if _depth_over(data, MAX_DEPTH):
            raise ParseError(f"The body is nested deeper than {MAX_DEPTH} levels.")
        try:
            # A "\ud800" escape decodes to a lone surrogate, which PostgreSQL cannot store: refuse it here as
            # malformed rather than fail at the INSERT.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ParseError() from exc
        return data
