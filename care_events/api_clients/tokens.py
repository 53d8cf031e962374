"""API tokens: one per user, created or rotated by one call (the old key stops working at once).

Keys are 256 random bits shown once, when created; only their SHA-256 digest is stored. A fast hash is enough
for a key of that strength (it cannot be guessed, only stolen, and the digest does not give it back).
"""

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from care_events.api_clients.models import ApiToken
from config.rest.permissions import AGENT_GROUP


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_rotate(*, user: AbstractUser) -> str:
    """A new key for `user`, replacing any old one. Returns the key: the only time it exists outside a client."""
    key = secrets.token_urlsafe(32)
    ApiToken.objects.update_or_create(user_id=user.pk, defaults={"digest": token_digest(key), "prefix": key[:8]})
    return key


class HashedTokenAuthentication(TokenAuthentication):
    """DRF's `Authorization: Token <key>`, looked up by the key's digest."""

    def authenticate_credentials(self, key: str) -> tuple[AbstractUser, ApiToken]:
        token = ApiToken.objects.select_related("user").filter(digest=token_digest(key)).first()
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return token.user, token


@transaction.atomic
def agent_account_ensure(*, username: str) -> AbstractUser:
    """The interaction agent's service account: a user without a password, in the AGENT_GROUP group."""
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    group, _ = Group.objects.get_or_create(name=AGENT_GROUP)
    user.groups.add(group)
    return user
