"""What a refused request leaves in the log: one line, not a traceback (twice) per 403."""

import contextlib
import io
import logging
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User

from tests.helpers import force_admin_login

pytestmark = pytest.mark.django_db


@contextlib.contextmanager
def console_output() -> Iterator[io.StringIO]:
    """What the configured console handler (LOGGING's, on the root logger) writes meanwhile."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    out = io.StringIO()
    previous = handler.setStream(out)  # type: ignore[attr-defined]
    try:
        yield out
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


def test_a_403_is_one_line_without_the_traceback_of_the_exception_that_made_it(client, settings):
    settings.DEBUG = True  # as under the local settings, where Django's own handler used to print it again
    clerk = User.objects.create_user("clerk", password="password", is_staff=True)
    force_admin_login(client, clerk)

    with console_output() as out:
        response = client.get("/admin/auth/user/")  # admin raises PermissionDenied: no permission on users

    assert response.status_code == 403
    assert out.getvalue().splitlines() == [line for line in out.getvalue().splitlines() if line.strip()]
    assert len(out.getvalue().splitlines()) == 1, out.getvalue()
    assert "WARNING django.request Forbidden (Permission denied): /admin/auth/user/" in out.getvalue()
    assert "Traceback" not in out.getvalue()
    assert logging.getLogger("django").handlers == []  # its records reach the root's handler, once


def test_a_500_keeps_its_traceback():
    logger = logging.getLogger("django.request")
    try:
        raise ValueError("boom")
    except ValueError:
        with console_output() as out:
            logger.error("Internal Server Error: /x", exc_info=True, extra={"status_code": 500})

    assert "Traceback" in out.getvalue() and "ValueError: boom" in out.getvalue()
