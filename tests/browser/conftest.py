"""Real-browser tests: Playwright driving Debian's chromium (/usr/bin/chromium; `.ci/run` installs it) against
pytest-django's live server, which runs the project (static files included) on a free port in a thread.

Fixtures: `browser` (one chromium for the session) and `page` (a fresh context and tab per test, whose relative
URLs go to the live server: `page.goto("/admin/")`). Tests that need rows the live server can see use
`transactional_db` (the live server's thread does not see a test's uncommitted transaction)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")

# Playwright's synchronous API runs an asyncio event loop in the test's thread, and Django refuses database calls
# from a thread with a running loop (the fixtures' own setup and teardown included). Nothing here is async code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
