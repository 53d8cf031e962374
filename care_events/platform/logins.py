"""The login lockout: django-axes' database handler with a second limit, per client address whatever the names.

axes counts failed logins per (name, address) and refuses that pair at LOGIN_FAILURE_LIMIT; a password sprayed
across many names from one address never reaches it. This handler also refuses an address once its failures, all
names together, reach LOGIN_ADDRESS_FAILURE_LIMIT within the cool-off (LOGIN_LOCKOUT_MINUTES). Both are checked
before any password is hashed (axes' backend is the first of AUTHENTICATION_BACKENDS), so a guessing loop costs at
most that many hashes per address and cool-off, whether the names exist or not.

Why unknown names still cost a hash until then: Django hashes the password for a name that does not exist too
(ModelBackend), so that the answer takes as long as for a real one and timing does not tell which names exist.
Skipping it would make the cheap answer the tell; the limits above bound the cost instead.
"""

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


class LoginLockoutHandler(AxesDatabaseHandler):
    def is_locked(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        return super().is_locked(request, credentials) or self._address_locked(request)

    def user_login_failed(
        self, sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs: Any
    ) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is not None and self._address_locked(request):
            request.axes_locked_out = True  # type: ignore[attr-defined]  # AxesMiddleware answers 429

    @staticmethod
    def _address_locked(request: HttpRequest) -> bool:
        address = getattr(request, "axes_ip_address", None)
        if address is None:
            return False
        failures = AccessAttempt.objects.filter(
            ip_address=address, attempt_time__gte=get_cool_off_threshold(request)
        ).aggregate(total=Sum("failures_since_start"))["total"]
        return (failures or 0) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT
