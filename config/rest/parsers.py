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

from config.rest.exceptions import PayloadTooLarge


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
        data = super().parse(io.BytesIO(body), media_type, parser_context)
        try:
            # A "\ud800" escape decodes to a lone surrogate, which PostgreSQL cannot store: refuse it here as
            # malformed rather than fail at the INSERT.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ParseError() from exc
        return data
