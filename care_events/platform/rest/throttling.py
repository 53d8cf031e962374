"""Per-client rates: each authenticated user (the agent's service account, each nurse) has API_RATE_LIMIT,
each anonymous IP address API_ANON_RATE_LIMIT (counted before the 401 of every `/api/v1/` endpoint too:
`anonymous_rate_check`, called by the permission check, which DRF runs before its throttles). The agent's flags and
hand-offs have a rate of their own on top, AGENT_ESCALATION_RATE_LIMIT (a scope: DRF's ScopedRateThrottle). Refused
API keys are counted apart, per client address (API_INVALID_TOKEN_RATE; care_events/platform/api_clients/tokens.py).
Counts live in the shared cache (Redis), so every web process counts together.

The rates are read from settings at each request rather than captured at import as DRF's classes do, so that
they follow the settings actually in force.
"""

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, SimpleRateThrottle, UserRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module (DEFAULT_THROTTLE_CLASSES) while it loads
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class _FailOpen(SimpleRateThrottle):
    def allow_request(self, request: Request, view: "APIView") -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:
            # The cache (Redis) is down: answering the clinical API matters more than limiting it. Logged loudly.
            logger.exception("rate limit not applied: the cache is unavailable")
            return True


class ClientRateThrottle(_FailOpen, UserRateThrottle):
    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT


class AnonymousRateThrottle(_FailOpen, AnonRateThrottle):
    def get_rate(self) -> str:
        return settings.API_ANON_RATE_LIMIT


def anonymous_rate_check(request: Request, view: "APIView") -> None:
    """Count an anonymous request against API_ANON_RATE_LIMIT; past it, Throttled (429 with Retry-After)."""
    throttle = AnonymousRateThrottle()
    if not throttle.allow_request(request, view):
        raise Throttled(wait=throttle.wait())


class AgentEscalationRateThrottle(_FailOpen, ScopedRateThrottle):
    """AGENT_ESCALATION_RATE_LIMIT per client over the views whose `throttle_scope` is ESCALATION_SCOPE (raise-flag/
    and handoff/, counted together), on top of API_RATE_LIMIT: each request there can page a nurse."""

    def get_rate(self) -> str:
        return settings.AGENT_ESCALATION_RATE_LIMIT


ESCALATION_SCOPE = "agent_escalation"


class InvalidTokenThrottle(_FailOpen, SimpleRateThrottle):
    """Refused API keys per client address: the authentication counts each refusal here (a valid key is never
    counted), so it is used outside DRF's throttle step, which runs only after authentication succeeded."""

    scope = "invalid-token"

    def get_rate(self) -> str:
        return settings.API_INVALID_TOKEN_RATE

    def get_cache_key(self, request: Request, view: "APIView | None") -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
