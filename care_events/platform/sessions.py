"""Browser sessions that end: idle time counts only a person's own requests, and a login lasts a fixed time at most.

- **Background refreshes are not activity.** A request carrying `X-Background-Refresh: 1` (a care-team page reloading
  itself, docs/screens.md) is served with the session as it is, but the session is not saved, so its expiry is not
  pushed back: the idle timeout (SESSION_IDLE_TIMEOUT_MINUTES, kept by the session row's expiry and
  SESSION_SAVE_EVERY_REQUEST) counts from the person's last own request, and a ward PC left on the board logs out.
  Whatever such a request changes in its session is dropped (none of ours changes it).
- **An absolute lifetime.** The login's time is kept in the session (`session_login_time_record`, on Django's
  `user_logged_in`); a request whose signed-in session is older than SESSION_ABSOLUTE_HOURS, or has no login time,
  finds it emptied before anything reads it (signed out, whatever the activity).
"""

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

BACKGROUND_REFRESH_HEADER = "X-Background-Refresh"
LOGIN_AT_KEY = "sequora_login_at"


def is_background_refresh(request: HttpRequest) -> bool:
    return request.headers.get(BACKGROUND_REFRESH_HEADER) == "1"


def session_login_time_record(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """user_logged_in's receiver (connected in CareEventsConfig.ready()): the start of the absolute lifetime."""
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT_KEY] = int(time.time())


def _outlived(session: SessionBase) -> bool:
    if SESSION_KEY not in session:
        return False  # nobody signed in: nothing to end
    login_at = session.get(LOGIN_AT_KEY)
    return login_at is None or time.time() - login_at >= settings.SESSION_ABSOLUTE_HOURS * 3600


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, in its place in MIDDLEWARE, with the two rules above."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        if _outlived(request.session):
            request.session.flush()  # the row is deleted: the user is anonymous from here on

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not is_background_refresh(request):
            return super().process_response(request, response)
        if request.session.accessed:
            patch_vary_headers(response, ("Cookie",))
        return response
