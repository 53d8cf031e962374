"""The API's three roles, and which endpoints each reaches (docs/permissions.md).

- staff: `user.is_staff`;
- nurse: a user with a `tasks_app.Nurse` profile (`user.nurse`);
- agent: the interaction agent's service account, a user in the group AGENT_GROUP.

Which *rows* a nurse sees is the selectors' job (her own tasks and notifications; another nurse's are 404).
care_events does not import tasks_app: the nurse profile is found through the reverse one-to-one accessor.
"""

from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser, User
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from config.roles import AGENT

if TYPE_CHECKING:  # rest_framework.views loads this module (through DEFAULT_AUTHENTICATION_CLASSES) while it loads
    from rest_framework.views import APIView

AGENT_GROUP = AGENT


def is_agent(user: User | AnonymousUser) -> bool:
    if not user.is_authenticated:
        return False
    cached = getattr(user, "_is_agent", None)  # asked once per request by each permission class
    if cached is None:
        cached = user.groups.filter(name=AGENT_GROUP).exists()
        setattr(user, "_is_agent", cached)  # noqa: B010 - an attribute User does not declare
    return cached


def is_nurse(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and hasattr(user, "nurse")


def is_staff(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and user.is_staff


class _Role(BasePermission):
    message = "Your role does not allow this endpoint."
    roles: tuple = ()

    def has_permission(self, request: Request, view: "APIView") -> bool:
        return any(role(request.user) for role in self.roles)


class IsAgent(_Role):
    roles = (is_agent,)


class IsAgentOrStaff(_Role):
    roles = (is_agent, is_staff)


class IsNurseOrStaff(_Role):
    roles = (is_nurse, is_staff)


class IsNurse(_Role):
    roles = (is_nurse,)


class IsStaff(_Role):
    roles = (is_staff,)
