"""The one way the browser tests log in to admin: a second factor, when admin asks for one, is added here."""

from playwright.sync_api import Page


def admin_login(page: Page, live_server, username: str, password: str) -> None:
    """Log in through admin's login page and land on the site's root (the user's care-team screen)."""
    page.goto(f"{live_server.url}/admin/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    assert "/admin/login/" not in page.url, f"login failed for {username}"
