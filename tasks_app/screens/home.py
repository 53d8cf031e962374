"""The site's root: each role's own screen, behind admin's login."""

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse


def care_team_home(request: HttpRequest) -> HttpResponse:
    """The site's root: a charge nurse's board, a nurse's worklist, anyone else admin's home; admin's login first."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if request.user.has_perm("tasks_app.view_all_tasks"):
        return redirect("admin:tasks_app_escalationtask_board")
    if request.user.has_perm("tasks_app.view_escalationtask"):
        return redirect("admin:tasks_app_escalationtask_worklist")
    return redirect("admin:index")
