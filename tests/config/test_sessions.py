"""Sessions end: a page that reloads itself (`X-Background-Refresh: 1`) keeps no session alive, and a login lasts
SESSION_ABSOLUTE_HOURS at most whatever the activity (care_events/platform/sessions.py)."""

import datetime as dt

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.utils import timezone

from tests.helpers import admin_login
from tests.tasks_app.factories import EscalationTaskFactory, nurse_with_login

pytestmark = pytest.mark.django_db

ADMIN_HOME = "/admin/"
BACKGROUND = {"HTTP_X_BACKGROUND_REFRESH": "1"}


def test_background_refreshes_do_not_keep_an_idle_session_alive(client, admin_user, settings):
    idle = dt.timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        admin_login(client, admin_user)
        expiry = Session.objects.get().expire_date
        # The board reloads itself every 30 s for longer than the idle timeout; nobody touches the PC.
        refreshes = []
        for _ in range(int(idle / dt.timedelta(seconds=30)) - 1):
            clock.shift(dt.timedelta(seconds=30))
            refreshes.append(client.get(ADMIN_HOME, **BACKGROUND).status_code)
            assert Session.objects.get().expire_date == expiry  # never saved, never pushed back
        clock.shift(dt.timedelta(seconds=31))

        assert set(refreshes) == {200}  # served while the session lives
        assert client.get(ADMIN_HOME, **BACKGROUND).status_code == 302  # idle too long: to the login page
        assert client.get(ADMIN_HOME).status_code == 302


def test_a_persons_own_request_still_pushes_the_expiry_back(client, admin_user, settings):
    idle = dt.timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        admin_login(client, admin_user)
        clock.shift(idle - dt.timedelta(minutes=1))
        assert client.get(ADMIN_HOME).status_code == 200  # a click
        clock.shift(idle - dt.timedelta(minutes=1))
        assert client.get(ADMIN_HOME, **BACKGROUND).status_code == 200


def test_an_api_background_poll_does_not_extend_the_session_either(client, settings):
    nurse = nurse_with_login()
    EscalationTaskFactory(assigned_to=nurse, status="ASSIGNED", assigned_at=timezone.now())
    with time_machine.travel(timezone.now(), tick=False) as clock:
        admin_login(client, nurse.user, password="correct-horse-battery")
        expiry = Session.objects.get().expire_date
        clock.shift(dt.timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES - 1))

        assert client.get("/api/v1/tasks/", **BACKGROUND).status_code == 200
        assert Session.objects.get().expire_date == expiry
        clock.shift(dt.timedelta(minutes=2))
        assert client.get("/api/v1/tasks/", **BACKGROUND).status_code == 401


def test_a_session_ends_after_its_absolute_lifetime_however_busy(client, admin_user, settings):
    settings.SESSION_ABSOLUTE_HOURS = 12
    with time_machine.travel(timezone.now(), tick=False) as clock:
        admin_login(client, admin_user)
        answers = []
        for _ in range(12 * 6 - 1):  # a click every 10 minutes for 11 h 50 min
            clock.shift(dt.timedelta(minutes=10))
            answers.append(client.get(ADMIN_HOME).status_code)
        clock.shift(dt.timedelta(minutes=10))

        assert set(answers) == {200}
        assert client.get(ADMIN_HOME).status_code == 302  # 12 h after the login: signed out
        assert not Session.objects.filter(session_key=client.cookies["sessionid"].value).exists()


def test_a_signed_in_session_without_a_login_time_is_ended(client, admin_user):
    """A session made before the lifetime existed (or by anything but a login) has no start: it is not trusted."""
    admin_login(client, admin_user)
    session = client.session
    del session["sequora_login_at"]
    session.save()

    assert client.get(ADMIN_HOME).status_code == 302
