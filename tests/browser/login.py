"""The one way the browser tests log in to admin: a second factor, when admin asks for one, is added here."""

from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page

from tests.helpers import totp_code


def admin_login(page: Page, live_server, username: str, password: str) -> None:
    """Log in through admin's login page and land on the site's root (the user's care-team screen)."""
    page.goto(f"{live_server.url}/admin/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    if page.locator("#id_otp_token").count():  # admin asks for the code of her authenticator app (ADMIN_MFA_REQUIRED)
        user = get_user_model().objects.get(username=username)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        device = device or TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)
        page.fill("#id_otp_token", totp_code(device))
    page.click("input[type=submit]")
    page.wait_for_load_state()
    assert "/admin/login/" not in page.url, f"login failed for {username}"
