"""Real-browser tests: Playwright driving Debian's chromium (/usr/bin/chromium; `.ci/run` installs it) against
pytest-django's live server, which runs the project (static files included) on a free port in a thread.

Fixtures: `browser` (one chromium per test module) and `page` (a fresh context and tab per test, whose relative
URLs go to the live server: `page.goto("/admin/")`) and `screenshot` (a whole page into artifacts/screenshots/,
which git ignores). Logins go through tests/browser/login.py only. Tests that need rows the live server can see use
`transactional_db` (the live server's thread does not see a test's uncommitted transaction)."""

import os
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def resolution_choices() -> None:
    """The resolution outcomes and phrases, rows a data migration seeds, which an earlier transactional test's flush
    took away: seeded again by the migration's own function (it leaves rows that are there). Not
    serialized_rollback: its flush skips post_migrate, so the role groups would be missing for the tests after, and
    a module run alone, on a database no test has flushed yet, fails loading rows that are still there."""
    import_module("tasks_app.migrations.0006_notes_and_outcomes").seed(apps, None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium per test module. Not for the whole session: Playwright's synchronous API keeps an asyncio event
    loop running in the test thread while it is started, and Django refuses database calls (and asgiref any
    async_to_sync) from a thread with a running loop, which would break every later test of the session. For this
    module's tests, Django's check is lifted (nothing here is async code) and restored afterwards."""
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does it)")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    # In the care team's zone (CARE_TEAM_TIME_ZONE's default), as the nurses' own computers are.
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1366, "height": 900},
        locale="en-US",
        timezone_id="America/New_York",
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page: Page):
    """screenshot("name"): the whole page into artifacts/screenshots/name.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
