"""API tokens: one per user, created or rotated by one call (the old key stops working at once)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction
from rest_framework.authtoken.models import Token

from care_events.api.permissions import AGENT_GROUP


@transaction.atomic
def api_token_rotate(*, user: AbstractUser) -> Token:
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


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
