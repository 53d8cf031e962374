from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from tasks_app.care_team import care_team_zone


class CareTeamTimeZoneMiddleware:
    """Admin pages (and the care team's screens in it) show and read times in the care team's zone: a shift typed
    as 07:00 is 07:00 there. The API and everything else keep UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(reverse("admin:index")):
            return self.get_response(request)
        timezone.activate(care_team_zone())
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
