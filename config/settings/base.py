"""Settings shared by every environment. Every value read from the environment is listed in README.md.

By concern, in parts this module imports (so that `from config.settings.base import *` has them all): Redis, Celery
and Beat's schedule (celery.py), the product's own settings and channels (product.py), logging (logs.py); where
values are read from (the environment, the running product's record, the embedded servers): environment.py."""

import datetime as dt

from csp.constants import NONCE, NONE, SELF

from config.settings.celery import *
from config.settings.celery import REDIS_URL
from config.settings.environment import BASE_DIR, EMBEDDED_DATABASE_URL, database, env, served

# Where scripts/run.sh keeps its passwords, logs and record (SEQUORA_RUN_DIR; `manage.py show_totp` reads it).
from config.settings.environment import RUN_DIR as RUN_DIR
from config.settings.logs import LOGGING as LOGGING
from config.settings.product import *

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    # Django's admin with our site: one-time passwords, audited (care_events/platform/admin.py)
    "config.apps.SequoraAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files, not a CDN
    "csp",  # the Content-Security-Policy header; its nonce in templates ({{ request.csp_nonce }})
    "health_check",  # /healthz and /readyz (config/urls.py), and `manage.py health_check readyz --no-http`
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",  # before care_events: its login-failure receiver runs first, so the audit row knows a lockout
    "care_events",
    "tasks_app",
    "notifications",
    "reports",  # the care-quality reports (docs/reports.md): reads every app's rows, writes none
    "intake",  # the hospital's ADT feed: HL7 v2 over MLLP, FHIR R4
    "demo",  # manage.py demo, above every app; production leaves it out
]

MIDDLEWARE = [
    # First: every log line of a request, the other middleware's included, carries its id
    # (care_events/platform/request_id.py).
    "care_events.platform.request_id.RequestIdMiddleware",
    # Second: it writes the audit row of each API request and admin page once the response is known (docs/audit.md).
    "care_events.platform.audit.recording.AuditMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's, with background refreshes that are not activity and an absolute lifetime
    # (care_events/platform/sessions.py).
    "care_events.platform.sessions.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "care_events.platform.api_clients.tokens.TokenExpiryHeaderMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Admin pages show and take times in the care team's zone (CARE_TEAM_TIME_ZONE); the API stays in UTC.
    "tasks_app.middleware.CareTeamTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "care_events.platform.security_headers.PermissionsPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers 429 to a locked-out login
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],  # the platform's own pages (the Swagger UI's, under the CSP)
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL is required: exclusion constraints, array fields and SKIP LOCKED are part of the design. Without
# DATABASE_URL: the server of the product scripts/run.sh runs from this checkout, else the embedded one
# (environment.py).
# Every connection has a connect timeout, TCP keepalives, a TCP user timeout and a statement timeout
# (environment.database).
DATABASES = {"default": database(served("DATABASE_URL", EMBEDDED_DATABASE_URL))}
# The role that owns the tables, for `manage.py migrate` only (its user and password; the server and database are
# DATABASE_URL's): the runtime role then gets INSERT and SELECT only on the audit trail (docs/operations.md, "Database
# roles"). Empty: migrations run as DATABASE_URL's role, which then owns the tables (a developer's machine).
DATABASE_MIGRATE_URL = env("DATABASE_MIGRATE_URL", default="")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Time is UTC in the database; a patient's own timezone is used only to place messages (quiet hours).
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# --- Care-team screens (docs/screens.md) ---------------------------------------------------------------------
# The zone the care team works in: admin shows shift times (and every other time) in it, and shifts typed in admin
# are read in it. IANA name; validated at startup (tasks_app/apps.py).
CARE_TEAM_TIME_ZONE = env("CARE_TEAM_TIME_ZONE", default="America/New_York")
# How often the board and the worklist fetch their counts and rows in the background (docs/screens.md, "Live").
CARE_TEAM_REFRESH_SECONDS = env.int("CARE_TEAM_REFRESH_SECONDS", default=15)

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Logins, sessions and the audit trail (docs/audit.md) ------------------------------------------------------
# django-axes first: a locked-out name and address is refused before any password is hashed.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed logins (admin's login, the only one) per user name and address, and per address whatever the names: at
# either limit, 429 until the cool-off ends, before any password is hashed (care_events/platform/logins.py).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=30)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "care_events.platform.logins.LoginLockoutHandler"
AXES_CLIENT_IP_CALLABLE = "care_events.platform.audit.recording.client_address"
AXES_HTTP_RESPONSE_CODE = 429
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # logins and logouts are in the audit trail; axes keeps only the failure counts
# How many reverse proxies (that append to X-Forwarded-For) stand before the app: the audit trail, the login lockout
# and the API's anonymous rate limit take the client's address that many hops back. 0: the connection's address (a
# forged header changes nothing).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Admin asks for a one-time password (TOTP) after the password. Off only for a local copy; production refuses it.
ADMIN_MFA_REQUIRED = env.bool("ADMIN_MFA_REQUIRED", default=True)
OTP_TOTP_ISSUER = "Sequora"
# A session ends after this many idle minutes (every request of the person pushes the expiry back; a background
# refresh, `X-Background-Refresh: 1`, does not), when the browser closes, and this many hours after its login
# whatever the activity (care_events/platform/sessions.py).
SESSION_IDLE_TIMEOUT_MINUTES = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=15)
SESSION_ABSOLUTE_HOURS = env.int("SESSION_ABSOLUTE_HOURS", default=12)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# A nurse (without `care_events.view_all_patients`) reads a patient while one of her tasks on that patient is open,
# and for this many hours after it was resolved or cancelled (docs/permissions.md#row-scoping); 0: open tasks only.
NURSE_ACCESS_AFTER_CLOSE_HOURS = env.int("NURSE_ACCESS_AFTER_CLOSE_HOURS", default=12)

# --- REST framework (the API: docs/api.md) -------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous request gets 401 with `WWW-Authenticate: Token`. The API has no login of its own: a
    # session is admin's, and is served only once verified by a one-time password (403 `second_factor_required`
    # otherwise: care_events/platform/rest/permissions.py).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "care_events.platform.api_clients.tokens.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Each view names the permissions each of its methods needs (`required_perms`); see
    # care_events/platform/rest/permissions.py.
    "DEFAULT_PERMISSION_CLASSES": ["care_events.platform.rest.permissions.HasRequiredPermissions"],
    "DEFAULT_SCHEMA_CLASS": "care_events.platform.rest.schema.ApiSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["care_events.platform.rest.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "care_events.platform.rest.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "care_events.platform.rest.throttling.ClientRateThrottle",
        "care_events.platform.rest.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_PAGINATION_CLASS": "care_events.platform.rest.pagination.Pagination",
    # An anonymous caller's address is taken TRUSTED_PROXY_COUNT hops back in X-Forwarded-For (above).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Per client: each authenticated user (the agent's service account, each nurse), and each anonymous address.
# DRF's notation: <count>/<second|minute|hour|day>. Counted in the cache below, shared by every web process.
API_RATE_LIMIT = env("API_RATE_LIMIT", default="600/minute")
API_ANON_RATE_LIMIT = env("API_ANON_RATE_LIMIT", default="60/minute")
# The largest request body the API reads (413 above it); Django applies the same limit to admin forms.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
# How long a POST's Idempotency-Key is remembered (records older than this are pruned by
# `manage.py prune_idempotency_records`; a key reused after that runs the request again).
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
# --- API tokens (docs/permissions.md#api-tokens) ---
# A new key is valid this many days; a key within the warning window of its expiry is answered with the header
# Sequora-Token-Expires and logged once a day; a rotated key stays valid for the overlap.
API_TOKEN_MAX_AGE_DAYS = env.int("API_TOKEN_MAX_AGE_DAYS", default=90)
API_TOKEN_EXPIRY_WARNING_DAYS = env.int("API_TOKEN_EXPIRY_WARNING_DAYS", default=14)
API_TOKEN_ROTATION_OVERLAP_MINUTES = env.int("API_TOKEN_ROTATION_OVERLAP_MINUTES", default=60)
# Unknown, expired, rotated or revoked keys per client address (DRF's notation): over it, 429 with Retry-After.
API_INVALID_TOKEN_RATE = env("API_INVALID_TOKEN_RATE", default="20/min")
# ---
# Phone numbers given without a country code are read as numbers of this region (ISO 3166 code).
PHONE_DEFAULT_REGION = env("PHONE_DEFAULT_REGION", default="US")
SPECTACULAR_SETTINGS = {
    "TITLE": "Sequora care-events API",
    "DESCRIPTION": "The interaction agent's and the nurses' API. Authentication: `Authorization: Token <key>` "
    "(or an admin session verified by a one-time password). "
    'Errors: `{"error": {"code", "message", "fields"}}`. Every POST accepts an `Idempotency-Key`. See docs/api.md.',
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Request and response bodies as separate components: read-only fields (id, status...) are not inputs.
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "care_events.platform.rest.schema.strict_request_bodies",
    ],
    "ENUM_NAME_OVERRIDES": {
        "SeverityEnum": "care_events.choices.Severity",
        "TaskStatusEnum": "tasks_app.models.TaskStatus",
        "InteractionStatusEnum": "care_events.models.InteractionStatus",
        "NotificationStatusEnum": "notifications.models.NotificationStatus",
    },
}

# --- Cache: the API's rate-limit counters --------------------------------------------------------------------
# Redis, shared by every web process (a per-process cache would multiply the rate by the number of processes).
# Short timeouts: when Redis is down the API answers without rate limits rather than hang.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": served("CACHE_URL", REDIS_URL),
        "KEY_PREFIX": "sequora",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# --- Security headers (every environment, so that the tests and the browser tests see what production sends) ------
# Content-Security-Policy (django-csp): only this origin's scripts, styles, images and API calls; no inline script
# (the Swagger UI's init script is a separate request: config/urls.py); an inline <style> only with the request's
# nonce; no plugins; no framing by any site (frame-ancestors, with X-Frame-Options for older browsers). Admin and
# the Swagger UI run under it (tests/browser/test_security_headers_browser.py, a real browser).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        # The Swagger UI's and admin's icons are SVG data: URLs in their style sheets.
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Another site never learns which page of ours (a task's id in its path) a link was followed from.
SECURE_REFERRER_POLICY = "same-origin"
# Browser features no page of ours uses, off for our pages and anything they embed
# (care_events/platform/security_headers.py).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
