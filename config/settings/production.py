"""Production: every secret comes from the environment and has no default here."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *
from config.settings.base import (
    ADMIN_MFA_REQUIRED,
    ANYMAIL,
    LOGGING,
    NOTIFICATION_ALLOW_LOCAL_BACKEND,
    NOTIFICATION_BACKEND_ALIASES,
    NOTIFICATION_BACKENDS,
    PUSH_ALLOW_PRIVATE_HOSTS,
    TWILIO_API_BASE_URL,
    env,
)
from config.settings.environment import database

# manage.py demo makes staff accounts and plays a made-up patient against a running server: never in production.
INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "demo"]

# Debug pages show settings and local variables (PHI): production refuses to start with DEBUG asked for, rather than
# silently ignore the request.
if env.bool("DJANGO_DEBUG", default=False):
    raise ImproperlyConfigured("DJANGO_DEBUG is on: production never runs in debug mode; unset it.")
DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
# Sessions, password-reset links and signed values are forged with a known key: refuse the development and test
# keys, and any key too short or too plain to be random (Django's own deployment check, made fatal).
if (
    SECRET_KEY in {"local-only-insecure-key-change-me", "test-only-insecure-key"}
    or SECRET_KEY.startswith("django-insecure")
    or len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is a development key or too weak: set a random key of 50+ characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": database(env.str("DATABASE_URL"))}
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# The app trusts X-Forwarded-Proto to know a request came over HTTPS. That is safe only because nothing reaches
# gunicorn but the TLS proxy (docker-compose.yml publishes the proxy alone; deploy/Caddyfile overwrites the header
# with the scheme it really received): run gunicorn where a client can reach it directly and a forged
# "X-Forwarded-Proto: https" defeats SECURE_SSL_REDIRECT and the secure-cookie checks.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
# Probes and Prometheus call the pods directly over HTTP: a redirect to HTTPS would read as a failure.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# One JSON object per line, for the log pipeline: time, level, logger, message, and the web request's id
# (care_events/platform/request_id.py; null outside a request). Only what the code logs goes out: ids, event names and
# exception classes, never a name, phone number, date of birth or message body (docs/architecture.md). The Twilio SDK
# stays muted, a 4xx is one line (logs.py), and no line holds a query string (nor the request Django attaches to its
# 4xx and 5xx lines, which the JSON formatter would write out whole).
LOGGING = {
    **LOGGING,
    "filters": {**LOGGING["filters"], "request_id": {"()": "care_events.platform.request_id.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "client_errors_on_one_line", "no_query_strings"],
        }
    },
}
# Celery workers and Beat keep this configuration (JSON) instead of replacing the root logger's handlers with their
# own plain-text one.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

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

# Admin without a second factor is for a developer's machine only.
if not ADMIN_MFA_REQUIRED:
    raise ImproperlyConfigured("ADMIN_MFA_REQUIRED=false is refused in production: admin opens PHI.")
# The agent's webhook carries ids of patients: https only, whatever the environment says (docs/webhooks.md).
WEBHOOK_REQUIRE_HTTPS = True
# The providers' base URLs carry their credentials (Twilio's Basic auth, an ESP's API key) with every request: https
# only. A plain-http one (a test's fake provider) would send them in clear.
_plain_http = [
    name
    for name, url in (
        ("TWILIO_API_BASE_URL", TWILIO_API_BASE_URL),
        *((f"ANYMAIL_SETTINGS[{key}]", value) for key, value in ANYMAIL.items() if key.upper().endswith("API_URL")),
    )
    if not str(url).lower().startswith("https://")
]
if _plain_http:
    raise ImproperlyConfigured(f"{', '.join(_plain_http)}: production calls providers over https only.")
# Push endpoints are URLs a browser gave: never one that resolves into our own network.
if PUSH_ALLOW_PRIVATE_HOSTS:
    raise ImproperlyConfigured("PUSH_ALLOW_PRIVATE_HOSTS=true is refused in production: push endpoints are public.")
