"""Nurses: the login a nurse is created with, and who the supervisors (charge nurses) are."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from config.roles import NURSE, role_group
from tasks_app.models import Nurse


def nurse_user_save(
    *, nurse: Nurse | None, first_name: str, last_name: str, email: str, is_active: bool = True
) -> User:
    """Create or update the user a nurse logs in with (username = email; no usable password at first), in the
    Nurse group (config/roles.py). The nurse's `is_active` is her login's: a nurse deactivated in admin loses
    admin, session and API-token access at once, since Django and the API refuse an inactive user."""
    user = nurse.user if nurse is not None and nurse.user_id else get_user_model()()
    created = user.pk is None
    if created:
        user.set_unusable_password()
    user.username, user.email = email.lower(), email
    user.first_name, user.last_name = first_name, last_name
    user.is_active = is_active
    user.full_clean(exclude=["password"])
    user.save()
    if created:
        user.groups.add(role_group(NURSE))
    return user


def supervisors() -> list[Nurse]:
    """Active charge nurses: alerted at every SLA breach and when a task finds nobody on shift."""
    return list(Nurse.objects.filter(is_active=True, is_supervisor=True).order_by("pk"))
