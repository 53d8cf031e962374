"""Settings shared by every environment. Every value read from the environment is listed in README.md."""

import datetime as dt
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A .env file beside manage.py is read if present; real environment variables win over it.
env.read_env(BASE_DIR / ".env")

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
    "django.contrib.sessions.middleware.SessionMiddleware",
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

# PostgreSQL is required: exclusion constraints, array fields and SKIP LOCKED are part of the design. The defaults
# are the embedded servers scripts/services.py starts when no URL is set.
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:54329/sequora")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
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
# Failed logins per user name and address (admin and /api/auth/login/): at the limit, 429 until the cool-off ends.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
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
# A session ends after this many idle minutes (every request pushes the expiry back) and when the browser closes.
SESSION_IDLE_TIMEOUT_MINUTES = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=15)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- REST framework (the API: docs/api.md) -------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous request gets 401 with `WWW-Authenticate: Token`.
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
    '(or a session). Errors: `{"error": {"code", "message", "fields"}}`. Every POST accepts an '
    "`Idempotency-Key`. See docs/api.md.",
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
        "LOCATION": env("CACHE_URL", default=env("REDIS_URL", default="redis://127.0.0.1:63799/0")),
        "KEY_PREFIX": "sequora",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# --- Redis and Celery ---------------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:63799/0")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
# Results are not used: every outcome that matters is a database row.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# A second queue, "urgent", is chosen per message (SLA breaches, urgent hand-offs and their notifications) so
# they never wait behind routine work; workers consume both (-Q urgent,default), and Celery creates queues. A
# third, "backstop", has a worker of its own (below).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing happens after a commit, inside a request or a worker: if Redis is down, give up quickly and let
# the relay publish the committed row later instead of hanging the caller.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}

# --- Celery: worker database connections and task events (docs/PERFORMANCE.md) -----------------------------------
# Celery's Django fixup closes the database connection before and after every task unless CELERY_DB_REUSE_MAX is set,
# so CONN_MAX_AGE never applied in a worker: a new connection (about 10 ms of PostgreSQL CPU) per task. Set, the
# fixup only closes it every this many tasks; config/celery_app.py calls close_old_connections() around each task
# instead, so CONN_MAX_AGE and CONN_HEALTH_CHECKS govern a worker's connections as they do a web request's.
CELERY_DB_REUSE_MAX = 1000
# Task events (task-sent, -received, -started, -succeeded: a Redis PUBLISH each) cost a worker's main process about
# 40 % of its CPU: off. Worker heartbeats still go out, so Flower lists every worker; the tasks of a worker started
# with -E (and of any worker while `celery control enable_events` is in force) show in Flower. Flower re-enables them
# on every worker every 5 s unless started with --enable_events=False (docker-compose.yml does).
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TASK_SEND_SENT_EVENT = False

# --- Timers' horizon, backstops (docs/architecture.md#durability) ----------------------------------------------
# A timer (an SLA stage, a check-in) is only a row until it is due within this many seconds; then its ETA or
# countdown message is published (at scheduling, or by the Beat job publish-timers-in-horizon). A worker holds every
# ETA message in memory until it runs, so this bounds a worker's memory and restart time, whatever the number of
# open tasks. Retries due further ahead than this wait as rows too, for the relays.
TIMER_HORIZON_SECONDS = env.int("TIMER_HORIZON_SECONDS", default=10 * 60)
# An unacked message is redelivered by Redis after this long. Longer than the longest ETA or countdown ever
# published (the horizon) plus the longest task, since such a message stays unacked in the worker until it runs; a
# message lost inside a worker (killed while holding it) comes back after this. Celery reads it from three places.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=TIMER_HORIZON_SECONDS + 5 * 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# The backstops run on their own queue, "backstop", consumed by a worker process of its own (scripts/run.sh): a
# backlog of ordinary work can neither delay them nor, since they carry no `expires`, discard them. A late or
# overlapping run is harmless: each takes its rows with SKIP LOCKED and marks them in the same claim.
CELERY_TASK_ROUTES = {
    "bus.timers_sweep": {"queue": "backstop"},
    "bus.events_relay": {"queue": "backstop"},
    "bus.timers_publish_horizon": {"queue": "backstop"},
    "notifications.relay": {"queue": "backstop"},
}
SWEEP_INTERVAL_SECONDS = env.int("SWEEP_INTERVAL_SECONDS", default=30)
# A pending handler run or notification whose message was published this long ago and has not run is taken
# for lost and published again (duplicates are harmless: every consumer claims its row first).
RELAY_GRACE_SECONDS = env.int("RELAY_GRACE_SECONDS", default=60)
# /readyz (care_events/platform/bus/health.py, docs/operations.md) answers 503 when a pending handler run has been due
# this
# long with no live message (never published, or published over RELAY_GRACE_SECONDS + SWEEP_INTERVAL_SECONDS ago):
# the relay would have published it by then, so the relay or the broker is not working.
READY_MAX_PENDING_RUN_AGE_SECONDS = env.int("READY_MAX_PENDING_RUN_AGE_SECONDS", default=300)
# ... and when a pending timer is this far past due: the sweep fires due timers every SWEEP_INTERVAL_SECONDS.
READY_MAX_LATE_TIMER_SECONDS = env.int("READY_MAX_LATE_TIMER_SECONDS", default=120)
# (The sweep itself is stale, and /readyz fails, 2 x SWEEP_INTERVAL_SECONDS after it last finished.)
# The backstops every SWEEP_INTERVAL_SECONDS, without `expires` (above); the other jobs expire before their next run,
# so a stopped worker does not come back to a pile of them.
CELERY_BEAT_SCHEDULE = {
    "fire-due-timers": {
        "task": "bus.timers_sweep",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "publish-timers-in-horizon": {
        "task": "bus.timers_publish_horizon",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "relay-pending-events": {
        "task": "bus.events_relay",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "relay-pending-notifications": {
        "task": "notifications.relay",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "assign-waiting-tasks": {
        "task": "tasks_app.assign_waiting",
        "schedule": 60,
        "options": {"expires": 60},
    },
    "forget-old-idempotency-keys": {
        "task": "api_clients.idempotency_records_prune",
        "schedule": 60 * 60,
        "options": {"expires": 60 * 60},
    },
    "reconcile-sent-notifications": {
        "task": "notifications.reconcile",
        "schedule": 60,
        "options": {"expires": 60},
    },
}

# --- Product settings ---------------------------------------------------------------------------------------
# Seconds between a discharge and the patient's check-in message (24 h by default; shorten for demos).
CHECKIN_DELAY = env.int("CHECKIN_DELAY", default=24 * 60 * 60)
# Seconds a patient has to answer a check-in before a nurse is asked to call them.
CHECKIN_RESPONSE_WINDOW = env.int("CHECKIN_RESPONSE_WINDOW", default=4 * 60 * 60)
# Patient-local quiet hours: routine messages are never sent between these hours (start inclusive).
QUIET_HOURS_START = env.int("QUIET_HOURS_START", default=21)
QUIET_HOURS_END = env.int("QUIET_HOURS_END", default=8)
# Facility → care team: round-robin assignment runs within a team, teams in parallel (docs/scaling.md). Unlisted
# facilities (and all of them by default) belong to the team "default". Env: "FAC1=north,FAC2=north,FAC3=south".
CARE_TEAM_BY_FACILITY: dict[str, str] = env.dict("CARE_TEAM_BY_FACILITY", default={})

# --- The agent's contract: what one interaction agent may cause (docs/api.md#limits-on-what-the-agent-causes) ----
# Flags and hand-offs on a completed or abandoned interaction are refused this many minutes after it ended.
AGENT_LATE_FLAG_GRACE_MINUTES = env.int("AGENT_LATE_FLAG_GRACE_MINUTES", default=10)
# Open tasks the agent's flags and hand-offs may hold at once, per interaction and per episode (beyond: 409).
AGENT_OPEN_TASKS_PER_INTERACTION = env.int("AGENT_OPEN_TASKS_PER_INTERACTION", default=3)
AGENT_OPEN_TASKS_PER_EPISODE = env.int("AGENT_OPEN_TASKS_PER_EPISODE", default=5)
# A flag or hand-off with the action and reason codes of an open one of the episode raised this recently returns it.
AGENT_FLAG_COALESCE_MINUTES = env.int("AGENT_FLAG_COALESCE_MINUTES", default=30)
# Requests per agent to raise-flag/ and handoff/ together (DRF notation), on top of API_RATE_LIMIT.
AGENT_ESCALATION_RATE_LIMIT = env("AGENT_ESCALATION_RATE_LIMIT", default="30/minute")
# Responses one interaction may hold (beyond: 409).
AGENT_RESPONSES_PER_INTERACTION = env.int("AGENT_RESPONSES_PER_INTERACTION", default=200)
# No task's SLA is shorter than this (the product sets SLAs from the severity table; the agent cannot).
MIN_TASK_SLA_MINUTES = env.int("MIN_TASK_SLA_MINUTES", default=15)
# The facilities patients' messages may name: `code=Display name` pairs, comma-separated. The API accepts only these
# codes for a patient's or an episode's `facility`; the check-in text names the display name, never free text.
CARE_FACILITIES = env.dict("CARE_FACILITIES", default={"GENERAL": "General Hospital"})

# A channel's backend: a dotted class path, or one of the aliases below. The local in-memory backend is the
# embedded default: nothing leaves the machine (production refuses it unless NOTIFICATION_ALLOW_LOCAL_BACKEND).
NOTIFICATION_BACKEND_ALIASES = {
    "local": "notifications.backends.local.LocalBackend",
    "twilio": "notifications.backends.twilio.TwilioSmsBackend",
    "twilio-voice": "notifications.backends.twilio.TwilioVoiceBackend",
    "email": "notifications.backends.email.EmailBackend",
    "webpush": "notifications.backends.push.WebPushBackend",
}
NOTIFICATION_BACKENDS = {
    channel: NOTIFICATION_BACKEND_ALIASES.get(path, path)
    for channel, path in {
        "SMS": env("NOTIFICATION_SMS_BACKEND", default="local"),
        "EMAIL": env("NOTIFICATION_EMAIL_BACKEND", default="local"),
        "PUSH": env("NOTIFICATION_PUSH_BACKEND", default="local"),
        "VOICE": env("NOTIFICATION_VOICE_BACKEND", default="local"),
    }.items()
}
NOTIFICATION_ALLOW_LOCAL_BACKEND = env.bool("NOTIFICATION_ALLOW_LOCAL_BACKEND", default=False)
# The channels an urgent nurse alert tries in turn after the nurse's preferred one fails (a nurse's own chain in
# admin wins).
NOTIFICATION_FALLBACK_CHAIN = env.list("NOTIFICATION_FALLBACK_CHAIN", default=["PUSH", "SMS", "VOICE"])
# An urgent alert still failing (transiently) this long after it was written also goes out on the next channel.
NOTIFICATION_FALLBACK_AFTER_SECONDS = env.int("NOTIFICATION_FALLBACK_AFTER_SECONDS", default=120)
# Messages sent per second per provider account, shared by every worker (a token bucket in Redis); urgent ones
# first. Twilio's default for a long code is 1 message per second; a toll-free or short code allows more.
NOTIFICATION_RATE_PER_SECOND = env.float("NOTIFICATION_RATE_PER_SECOND", default=10)
# A message the provider took (SENT) whose final status has not come back after this long is asked for.
NOTIFICATION_RECONCILE_AFTER_SECONDS = env.int("NOTIFICATION_RECONCILE_AFTER_SECONDS", default=15 * 60)
# The address the outside world reaches this service at (behind a TLS proxy, the proxy's): Twilio's status and
# inbound webhooks are signed for URLs under it, and nurses' messages link to their tasks with it.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# EMAIL: Django's mail API; in production an ESP through django-anymail (EMAIL_BACKEND, e.g.
# anymail.backends.postmark.EmailBackend, with its keys in ANYMAIL_SETTINGS).
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
ANYMAIL = env.json("ANYMAIL_SETTINGS", default={})
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Sequora <alerts@localhost>")
# PUSH: Web Push with VAPID (generate a key pair once: `manage.py generate_vapid_keys`).
VAPID_PUBLIC_KEY = env("VAPID_PUBLIC_KEY", default="")
VAPID_PRIVATE_KEY = env("VAPID_PRIVATE_KEY", default="")
VAPID_SUBJECT = env("VAPID_SUBJECT", default="mailto:alerts@localhost")

TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_WHATSAPP_FROM_NUMBER = env("TWILIO_WHATSAPP_FROM_NUMBER", default="")
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="https://api.twilio.com")
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=10)
# A delivery claims its message for this long. It must outlast any provider call (connect and read timeouts of
# TWILIO_TIMEOUT_SECONDS each), or a slow send could be repeated; past it, the claimer is taken for dead and the
# relay sends the message again.
NOTIFICATION_SEND_LEASE_SECONDS = env.int("NOTIFICATION_SEND_LEASE_SECONDS", default=60)

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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # The Twilio SDK logs every request at INFO with its query string, and the lookup of a message in doubt
    # filters by the recipient's number: PHI. Its warnings and errors still show.
    "loggers": {"twilio.http_client": {"level": "WARNING"}},
}
