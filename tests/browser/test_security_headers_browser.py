"""Admin and the Swagger UI work under the Content-Security-Policy (config/settings/base.py) in a real browser:
every page is loaded in chromium, and any violation the browser reports (the `securitypolicyviolation` event, or
its console message) fails the test, as does a page that did not render."""

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.login import admin_login

# Records every CSP violation of the page, from before its first script runs.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


class Violations:
    """What the browser reported against the policy while a test ran."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._on_console)

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def all(self) -> list[str]:
        return self.console + self.page.evaluate("window.__cspViolations || []")


@pytest.fixture
def violations(page: Page) -> Violations:
    return Violations(page)


@pytest.mark.django_db(transaction=True)
def test_the_admin_login_page_works_under_the_csp(page: Page, violations: Violations):
    response = page.goto("/admin/login/")

    assert response is not None
    assert "default-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("#id_username")).to_be_visible()
    # The form posts (form-action 'self') and admin answers it with its error message.
    page.fill("#id_username", "nobody")
    page.fill("#id_password", "not-the-password")
    page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_be_visible()
    assert violations.all() == []


@pytest.mark.django_db(transaction=True)
def test_an_admin_change_form_with_its_scripts_works_under_the_csp(
    page: Page, violations: Violations, django_user_model, live_server
):
    admin = django_user_model.objects.create_superuser("csp-admin", "csp@example.org", "a-long-enough-password")
    admin_login(page, live_server, "csp-admin", "a-long-enough-password")  # the password, then the TOTP code

    # The user form runs admin's scripts: the permissions' two-list filter widget and the dates' shortcuts are
    # drawn by JavaScript, so they are there only if the scripts ran.
    page.goto(f"/admin/auth/user/{admin.pk}/change/")
    expect(page.locator("#id_user_permissions_from")).to_be_attached()
    expect(page.locator(".datetimeshortcuts").first).to_be_visible()
    assert violations.all() == []


@pytest.mark.django_db(transaction=True)
def test_the_swagger_ui_renders_under_the_csp(page: Page, violations: Violations):
    response = page.goto("/api/docs/")

    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    # The UI ran: it fetched the schema and drew the API's title and its operations.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Sequora care-events API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 10
    assert violations.all() == []


def test_the_headers_every_page_carries(page: Page):
    response = page.goto("/healthz")

    assert response is not None
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "camera=()" in headers["permissions-policy"]
    assert "microphone=()" in headers["permissions-policy"]
    assert "geolocation=()" in headers["permissions-policy"]
