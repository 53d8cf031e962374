"""`Idempotency-Key` on every POST: the same key and the same request get the same response, and one side effect.

The protocol rests on one unique row (IdempotencyRecord, unique on user and key) inserted *in the same
transaction as the side effect*:

1. INSERT the record (user, key, fingerprint of method + path + body), then run the endpoint, then store its
   status and body in the record, then COMMIT, all in one transaction.
2. A concurrent twin (same user and key) blocks on the unique index at its INSERT until the first transaction
   ends. PostgreSQL makes it wait rather than fail because the conflicting row is not yet committed:
   - the first commits: the twin's INSERT fails with a unique violation; it rolls back to its savepoint, reads
     the now committed record (READ COMMITTED: each statement sees the latest commits) and replays it;
   - the first fails (an error response is an exception, which rolls the whole transaction back, record
     included): the twin's INSERT succeeds and it runs the request itself, as if it had come first.
   So the side effect happens once, however many identical requests race, and a stored record always holds
   a complete response (nobody can see a record whose side effect has not committed).
3. The same key with a different fingerprint is 422: the client reused a key for another request.

Only successful responses are stored: an error changes nothing, so repeating the request is safe and gives the
same error again. Records are kept IDEMPOTENCY_KEY_TTL_HOURS (`manage.py prune_idempotency_records`).

A stored response is what a replay must answer, and it holds PHI (a patient's name, a transcript): it is kept
encrypted (Fernet: AES-128-CBC and HMAC-SHA256) under a key derived from DJANGO_SECRET_KEY (`seal`), so a database
dump, a backup or an admin screen shows ciphertext; Django's SECRET_KEY_FALLBACKS still open what was sealed before a
rotation.
"""

import base64
import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from care_events.platform.api_clients.models import IdempotencyRecord
from care_events.platform.rest.exceptions import IdempotencyKeyReused
from care_events.platform.rest.headers import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENCY_KEY_PATTERN,
    IDEMPOTENT_REPLAYED_HEADER,
)

_KEY_RE = re.compile(IDEMPOTENCY_KEY_PATTERN)


def _canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _request_fingerprint(request: Request) -> str:
    return hashlib.sha256(f"{request.method} {request.path}\n{_canonical_json(request.data)}".encode()).hexdigest()


def payload_fingerprint(value: object) -> str:
    """SHA-256 of a JSON value, keys sorted: what an identifier sent in a body was first used for."""
    return hashlib.sha256(_canonical_json(value).encode()).hexdigest()


def _key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is not None and not _KEY_RE.match(key):
        message = "Use 1 to 255 letters, digits and . _ : - (e.g. a UUID)."
        raise exceptions.ValidationError({IDEMPOTENCY_KEY_HEADER: [message]})
    return key


def _fernet() -> MultiFernet:
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    keys = [salted_hmac("care_events.idempotency", "response", secret=s, algorithm="sha256").digest() for s in secrets]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(key)) for key in keys])


def seal(text: str) -> str:
    """A stored response, encrypted (and authenticated) for this deployment's secret key."""
    return _fernet().encrypt(text.encode()).decode()


def unseal(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def _replay(record: IdempotencyRecord) -> Response:
    data = json.loads(unseal(record.response_body)) if record.response_body else None
    return Response(data, status=record.status_code, headers={IDEMPOTENT_REPLAYED_HEADER: "true"})


def idempotent(method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate an APIView's `post`: with an Idempotency-Key, it runs at most once per user and key."""

    @functools.wraps(method)
    def post(view: APIView, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = _key(request)
        if key is None:
            return method(view, request, *args, **kwargs)
        # Parses the body first: a bad body fails before any row exists.
        return once_per_key(
            request=request,
            key=key,
            fingerprint=_request_fingerprint(request),
            run=lambda: method(view, request, *args, **kwargs),
        )

    return post


def once_per_key(
    *,
    request: Request,
    key: str,
    fingerprint: str,
    run: Callable[[], Response],
    reused: type[exceptions.APIException] = IdempotencyKeyReused,
) -> Response:
    """Run `run` at most once per user and key (the protocol above): the same key and fingerprint again answer with
    the first response; the same key with another fingerprint raises `reused` (422). Also used for identifiers a
    client sends in a body (an event's `id`, care_events/apis/events.py), with keys of their own namespace."""
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint, so that the unique violation leaves us usable
                record = IdempotencyRecord.objects.create(user=request.user, key=key, fingerprint=fingerprint)
        except IntegrityError:
            # A twin holding this key has committed (we waited on the unique index until it did).
            record = IdempotencyRecord.objects.get(user=request.user, key=key)
            if record.fingerprint != fingerprint:
                raise reused() from None
            return _replay(record)
        response = run()
        record.status_code = response.status_code
        body = json.dumps(response.data, cls=DjangoJSONEncoder) if response.data is not None else ""
        record.response_body = seal(body) if body else ""
        record.save(update_fields=["status_code", "response_body"])
    return response


def idempotency_records_prune() -> int:
    """Forget keys older than IDEMPOTENCY_KEY_TTL_HOURS; a key reused after that runs its request again."""
    cutoff = timezone.now() - dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
