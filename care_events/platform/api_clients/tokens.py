"""API tokens: create, rotate with an overlap, revoke; authenticate a request by its key; warn before expiry.

Keys are 256 random bits shown once, when created; only their SHA-256 digest is stored. A fast hash is enough
for a key of that strength (it cannot be guessed, only stolen, and the digest does not give it back).

Every key expires API_TOKEN_MAX_AGE_DAYS after it is made. Within API_TOKEN_EXPIRY_WARNING_DAYS of that, each
response to it carries `Sequora-Token-Expires` and a WARNING is logged once a day. A refused key (unknown,
expired, rotated, revoked, or its user inactive) is logged with its first characters only, and counted per client
address: past API_INVALID_TOKEN_RATE the answer is 429. docs/permissions.md#api-tokens.
"""

import datetime as dt
import hashlib
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from care_events.platform.api_clients.models import ApiToken
from care_events.platform.errors import ConflictError
from care_events.platform.rest.headers import KEY_EXPIRY_HEADER
from care_events.platform.rest.throttling import InvalidTokenThrottle
from care_events.platform.roles import AGENT, role_group

logger = logging.getLogger(__name__)

# How much of a key is ever logged or shown: as much as ApiToken.prefix keeps.
PREFIX_LENGTH = 8
# Keys are secrets.token_urlsafe: these characters never appear in one.
NOT_KEY_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")
# last_used_at is written at most this often, so that reading does not mean writing at every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _insert(*, user: AbstractUser, scope: str) -> str:
    key = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user_id=user.pk,
        digest=token_digest(key),
        prefix=key[:PREFIX_LENGTH],
        scope=scope,
        expires_at=timezone.now() + dt.timedelta(days=settings.API_TOKEN_MAX_AGE_DAYS),
    )
    return key


def _current(user: AbstractUser) -> ApiToken | None:
    """The user's current key, locked: two rotations at once must not both keep it (the second waits)."""
    return ApiToken.objects.select_for_update().filter(user_id=user.pk, rotated_at=None, revoked_at=None).first()


@transaction.atomic
def api_token_create(*, user: AbstractUser, scope: str) -> str:
    """A new key for `user`; a current one is revoked at once (for a key that may have leaked). Returns the key:
    the only time it exists outside a client."""
    current = _current(user)
    if current is not None:
        api_token_revoke(token=current)
    return _insert(user=user, scope=scope)


class NoCurrentTokenError(ConflictError):
    """Rotating without a scope needs a current key to take it from."""

    code = "no_current_token"

    def __init__(self) -> None:
        super().__init__("This account has no current API key to rotate; create one with a scope.")


@transaction.atomic
def api_token_rotate(*, user: AbstractUser, scope: str | None = None) -> str:
    """A new key for `user` (with the current key's scope unless given); the current key stays valid for
    API_TOKEN_ROTATION_OVERLAP_MINUTES, so that a client can switch without a gap. Returns the new key. Without a
    current key this is a create, which needs `scope`."""
    current = _current(user)
    if current is None:
        if scope is None:
            raise NoCurrentTokenError()
        return _insert(user=user, scope=scope)
    now = timezone.now()
    current.rotated_at = now
    overlap = dt.timedelta(minutes=settings.API_TOKEN_ROTATION_OVERLAP_MINUTES)
    current.expires_at = min(current.expires_at, now + overlap)
    current.save(update_fields=["rotated_at", "expires_at"])
    return _insert(user=user, scope=scope or current.scope)


def api_token_revoke(*, token: ApiToken) -> None:
    """Refused from now on (401 token_revoked). The row stays, for the record."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def api_tokens_revoke_on_password_change(
    sender: type[AbstractUser], instance: AbstractUser, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    """pre_save of the user model (connected in CareEventsConfig.ready()): a new password revokes the user's live keys
    (a password is changed when an account may have leaked; her keys must not outlive it). Django's own rehash of
    a password at login (a newer hasher: `_password` None, only `password` saved) is not a change."""
    if raw or instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    rehash = (
        getattr(instance, "_password", None) is None
        and update_fields is not None
        and set(update_fields) == {"password"}
    )
    if rehash:
        return
    before = type(instance)._default_manager.filter(pk=instance.pk).values_list("password", flat=True).first()
    if before is None or before == instance.password:
        return
    for token in ApiToken.objects.filter(user_id=instance.pk, revoked_at=None):
        api_token_revoke(token=token)


@transaction.atomic
def service_account_ensure(*, username: str, role: str = AGENT) -> AbstractUser:
    """A program's account (the interaction agent's, the hospital feed's): a user without a password, in the
    role's group."""
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(role_group(role))
    return user


# --- Authentication -----------------------------------------------------------------------------------------

_REFUSALS = {
    # reason (logged): (error code, message)
    "unknown": ("authentication_failed", "Invalid token."),
    "token_expired": ("token_expired", "This API token has expired; ask for a new key."),
    "token_rotated": ("token_rotated", "This API token was replaced by a newer key and its overlap is over."),
    "token_revoked": ("token_revoked", "This API token was revoked."),
    "account_inactive": ("account_inactive", "The account of this API token is inactive."),
}


class TokenRefused(AuthenticationFailed):
    """A well-formed key that is refused, and why (401 with the reason's error code)."""

    def __init__(self, reason: str, *, prefix: str) -> None:
        code, message = _REFUSALS[reason]
        super().__init__(message, code=code)
        self.reason, self.prefix = reason, prefix


class HashedTokenAuthentication(TokenAuthentication):
    """DRF's `Authorization: Token <key>`, looked up by the key's digest and checked for expiry, rotation,
    revocation and an inactive holder."""

    def authenticate(self, request: Request) -> tuple[AbstractUser, ApiToken] | None:
        try:
            return super().authenticate(request)
        except AuthenticationFailed as refusal:
            _count_refusal(request, refusal)
            raise

    def authenticate_credentials(self, key: str) -> tuple[AbstractUser, ApiToken]:
        token = ApiToken.objects.select_related("user").filter(digest=token_digest(key)).first()
        if token is None:
            # What a client sent is logged only in the alphabet of our keys: no control characters in the logs.
            raise TokenRefused("unknown", prefix=NOT_KEY_CHARACTERS.sub("?", key[:PREFIX_LENGTH]))
        now = timezone.now()
        reason = token.refusal(now)
        if reason is not None:
            raise TokenRefused(reason, prefix=token.prefix)
        _record_use(token, now)
        if expires_soon(token, now):
            _warn_once_a_day(token, now)
        return token.user, token


def _count_refusal(request: Request, refusal: AuthenticationFailed) -> None:
    """Log the refusal (never the key: its first characters at most) and count it against the client address;
    over the rate, raise 429 instead of the 401. A valid key is never counted nor throttled here, so a client
    that sends a stale key cannot lock out a good one behind the same address."""
    reason = refusal.reason if isinstance(refusal, TokenRefused) else "malformed"
    prefix = refusal.prefix if isinstance(refusal, TokenRefused) else ""
    throttle = InvalidTokenThrottle()
    address = throttle.get_ident(request)
    if throttle.allow_request(request, None):
        logger.warning("API token refused: reason=%s prefix=%s client=%s", reason, prefix, address)
        return
    wait = throttle.wait()
    # One line per address and window when over the rate, not one per request: a flood must not flood the logs.
    if cache.add(f"invalid-token-throttled:{address}", 1, timeout=throttle.duration):
        logger.warning(
            "API token refused: reason=%s prefix=%s client=%s; over %s, answering 429 for %.0f s",
            reason,
            prefix,
            address,
            throttle.rate,
            wait or 0,
        )
    raise Throttled(wait=wait) from None


def _record_use(token: ApiToken, now: dt.datetime) -> None:
    # Read from the row just loaded: no query at all while it is fresh. Then a conditional update, no save(): of
    # concurrent requests one writes, and no signal fires (a use is not a change of the key).
    if token.last_used_at is not None and token.last_used_at >= now - LAST_USED_RESOLUTION:
        return
    stale = Q(last_used_at=None) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)


def expires_soon(token: ApiToken, now: dt.datetime) -> bool:
    return token.expires_at - now <= dt.timedelta(days=settings.API_TOKEN_EXPIRY_WARNING_DAYS)


def _warn_once_a_day(token: ApiToken, now: dt.datetime) -> None:
    try:
        first_today = cache.add(f"token-expiry-warned:{token.pk}:{now:%Y-%m-%d}", 1, timeout=24 * 60 * 60)
    except Exception:
        first_today = False  # the cache is down: skip the reminder rather than log it at every request
    if first_today:
        logger.warning(
            "API token %s (prefix %s) of user %s expires at %s; rotate it",
            token.pk,
            token.prefix,
            token.user_id,
            token.expires_at.isoformat(),
        )


class TokenExpiryHeaderMiddleware:
    """Adds `Sequora-Token-Expires: <ISO time>` to every response to a request authenticated by a key that
    expires soon (DRF puts the authenticated ApiToken on the request as `auth`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        token = getattr(request, "auth", None)
        if isinstance(token, ApiToken) and expires_soon(token, timezone.now()):
            response[KEY_EXPIRY_HEADER] = token.expires_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return response
