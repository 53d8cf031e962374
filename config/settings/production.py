"""Production: every secret comes from the environment and has no default here."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *
from config.settings.base import (
    NOTIFICATION_ALLOW_LOCAL_BACKEND,
    NOTIFICATION_BACKEND_ALIASES,
    NOTIFICATION_BACKENDS,
    env,
)

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# A channel left on the local backend would "deliver" nurse alerts into a Python list: refuse to start, unless the
# operator says it is meant (a staging copy that must not message anyone).
_local_channels = sorted(
    channel for channel, path in NOTIFICATION_BACKENDS.items() if path == NOTIFICATION_BACKEND_ALIASES["local"]
)
if _local_channels and not NOTIFICATION_ALLOW_LOCAL_BACKEND:
    raise ImproperlyConfigured(
        f"Channels {', '.join(_local_channels)} use the local in-memory backend, which sends nothing. Set "
        + ", ".join(f"NOTIFICATION_{channel}_BACKEND" for channel in _local_channels)
        + " (twilio, twilio-voice, email, webpush), or NOTIFICATION_ALLOW_LOCAL_BACKEND=true if that is intended."
    )
