from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser

from tasks_app.models import Nurse


def nurse_user_save(*, nurse: Nurse | None, first_name: str, last_name: str, email: str) -> AbstractUser:
    """Create or update the user a nurse logs in with (username = email; no usable password at first)."""
    user = nurse.user if nurse is not None and nurse.user_id else get_user_model()()
    if user.pk is None:
        user.set_unusable_password()
    user.username, user.email = email.lower(), email
    user.first_name, user.last_name = first_name, last_name
    user.full_clean(exclude=["password"])
    user.save()
    return user
