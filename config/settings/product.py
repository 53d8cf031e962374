"""The product's own settings: check-in timing and quiet hours, care teams and facilities, what the interaction
agent may cause, the notification channels and their providers. A part of the settings that config/settings/base.py
imports."""

from config.settings.environment import env, served

# --- Product settings ---------------------------------------------------------------------------------------
# Seconds between a discharge and the patient's check-in message (24 h by default; shorten for demos).
CHECKIN_DELAY = env.int("CHECKIN_DELAY", default=24 * 60 * 60)
# Seconds a patient has to answer a check-in before a nurse is asked to call them.
CHECKIN_RESPONSE_WINDOW = env.int("CHECKIN_RESPONSE_WINDOW", default=4 * 60 * 60)
# A patient's own text that nobody (the agent, a nurse) acted on within this many minutes becomes a nurse review
# task (docs/api.md#a-patients-text). A text with one of REPLY_RED_FLAG_PHRASES becomes a HIGH task at once.
REPLY_REVIEW_AFTER_MINUTES = env.float("REPLY_REVIEW_AFTER_MINUTES", default=15)
# Whole phrases, case- and accent-insensitive (care_events/red_flags.py). Env: comma-separated.
REPLY_RED_FLAG_PHRASES = env.list(
    "REPLY_RED_FLAG_PHRASES",
    default=[
        "chest pain",
        "chest pressure",
        "can't breathe",
        "cant breathe",
        "cannot breathe",
        "short of breath",
        "trouble breathing",
        "passed out",
        "fainted",
        "coughing blood",
        "stroke",
        "suicide",
        "kill myself",
        "dolor de pecho",
        "presion en el pecho",
        "no puedo respirar",
        "falta de aire",
        "me falta el aire",
        "me desmaye",
        "tos con sangre",
        "derrame",
        "suicidarme",
    ],
)
# Outbound webhooks to the agent (docs/webhooks.md): each POST has this many seconds in all (connect, send and read
# together); redirects are never followed.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Only https URLs (production forces it); off for local development and tests, whose agent listens on plain http.
WEBHOOK_REQUIRE_HTTPS = env.bool("WEBHOOK_REQUIRE_HTTPS", default=True)
# A URL whose host resolves to a private, loopback, link-local or reserved address is refused unless this is on
# (the tests' agent is a local server).
WEBHOOK_ALLOW_PRIVATE_HOSTS = env.bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=False)
# A delivery is tried this many times, with exponential backoff and jitter capped at WEBHOOK_RETRY_CAP_SECONDS
# between attempts (about 5 hours in all by default), then it is FAILED (admin re-drives it).
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=12)
WEBHOOK_RETRY_CAP_SECONDS = env.int("WEBHOOK_RETRY_CAP_SECONDS", default=60 * 60)
# Patient-local quiet hours: routine messages are never sent between these hours (start inclusive).
QUIET_HOURS_START = env.int("QUIET_HOURS_START", default=21)
QUIET_HOURS_END = env.int("QUIET_HOURS_END", default=8)
# Facility → care team: round-robin assignment runs within a team, teams in parallel (docs/scaling.md). Unlisted
# facilities (and all of them by default) belong to the team "default". Env: "FAC1=north,FAC2=north,FAC3=south".
CARE_TEAM_BY_FACILITY: dict[str, str] = env.dict("CARE_TEAM_BY_FACILITY", default={})

# --- Who holds a task, and when (docs/handover.md) ------------------------------------------------------------
# A nurse off shift keeps her open tasks only if her next shift starts within this many minutes; otherwise the
# hand-over sweep gives them to the next nurse on shift of the task's care team.
HANDOVER_BACK_TO_BACK_MINUTES = env.int("HANDOVER_BACK_TO_BACK_MINUTES", default=15)
# An assigned task not acknowledged within its severity's minutes is sent again to its nurse on her next channel;
# still not acknowledged ACK_ESCALATE_AFTER_MINUTES later, it is handed to the next nurse on shift and the charge
# nurses are alerted. A severity left out (LOW by default) is never chased. Env: "CRITICAL=5,HIGH=15,MODERATE=60"
# (read as strings and converted here: django-environ's float cast misreads a dict's values).
ACK_REMIND_AFTER_MINUTES = {
    severity: float(minutes)
    for severity, minutes in env.dict(
        "ACK_REMIND_AFTER_MINUTES", default={"CRITICAL": 5, "HIGH": 15, "MODERATE": 60}
    ).items()
}
ACK_ESCALATE_AFTER_MINUTES = {
    severity: float(minutes)
    for severity, minutes in env.dict(
        "ACK_ESCALATE_AFTER_MINUTES", default={"CRITICAL": 5, "HIGH": 15, "MODERATE": 60}
    ).items()
}
# How long the "Acknowledge" button of a push alert works (its signed token), at most.
ACK_TOKEN_MAX_AGE_SECONDS = env.int("ACK_TOKEN_MAX_AGE_SECONDS", default=12 * 60 * 60)

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
# A new admission this many days or fewer after a discharge marks that earlier episode readmitted (intake/).
READMISSION_WINDOW_DAYS = env.int("READMISSION_WINDOW_DAYS", default=30)
# The hospital's ADT feed (intake/, docs/integration.md): the MLLP listener's address, its optional TLS (a PEM
# certificate chain and key; with a CA file, clients must present a certificate it signed), and the time zone of
# HL7 timestamps that carry no UTC offset.
MLLP_HOST = env("MLLP_HOST", default="127.0.0.1")
MLLP_PORT = env.int("MLLP_PORT", default=2575)
MLLP_TLS_CERT_FILE = env("MLLP_TLS_CERT_FILE", default="")
MLLP_TLS_KEY_FILE = env("MLLP_TLS_KEY_FILE", default="")
MLLP_TLS_CLIENT_CA_FILE = env("MLLP_TLS_CLIENT_CA_FILE", default="")
ADT_DEFAULT_TIMEZONE = env("ADT_DEFAULT_TIMEZONE", default="America/New_York")
CARE_FACILITIES = env.dict("CARE_FACILITIES", default={"GENERAL": "General Hospital"})

# --- Reports (docs/reports.md) --------------------------------------------------------------------------------
# Each facility's public holidays for TCM's business days: `facility=country` or `facility=country-subdivision`
# (the `holidays` library's codes, e.g. US, US-NY); a facility not listed keeps REPORTS_DEFAULT_HOLIDAYS.
REPORTS_DEFAULT_HOLIDAYS = env.str("REPORTS_DEFAULT_HOLIDAYS", default="US")
REPORTS_FACILITY_HOLIDAYS: dict[str, str] = env.dict("REPORTS_FACILITY_HOLIDAYS", default={})
# Days a facility's follow-up office is closed beyond its holidays: `facility:YYYY-MM-DD`, comma-separated
# (`*:YYYY-MM-DD` closes every facility).
REPORTS_CLOSURES: list[str] = env.list("REPORTS_CLOSURES", default=[])
# The shifts breaches are counted on: `name=starting hour` in the care team's zone; a shift runs to the next start.
REPORTS_SHIFT_STARTS: dict[str, int] = {
    name: int(hour)
    for name, hour in env.dict("REPORTS_SHIFT_STARTS", default={"Day": 7, "Evening": 15, "Night": 23}).items()
}

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
# An urgent alert none of whose rows has gone out this long after it was written also goes out on the next channel
# (a durable timer: at this time, not at the row's next retry).
NOTIFICATION_FALLBACK_AFTER_SECONDS = env.int("NOTIFICATION_FALLBACK_AFTER_SECONDS", default=120)
# An urgent alert about a task that has gone out on no channel of its nurse's chain within its task's severity's
# minutes: she cannot be reached, so the charge nurses are alerted and a task still waiting for her acknowledgement
# is handed on (docs/notifications.md). A severity left out is not watched. Env: "CRITICAL=5,HIGH=10,MODERATE=15"
# (read as strings and converted here, like ACK_REMIND_AFTER_MINUTES).
ALERT_UNREACHABLE_AFTER_MINUTES = {
    severity: float(minutes)
    for severity, minutes in env.dict(
        "ALERT_UNREACHABLE_AFTER_MINUTES", default={"CRITICAL": 5, "HIGH": 10, "MODERATE": 15}
    ).items()
}
# Messages sent per second per provider account, shared by every worker (a token bucket in Redis); urgent ones
# first. Twilio's default for a long code is 1 message per second; a toll-free or short code allows more.
NOTIFICATION_RATE_PER_SECOND = env.float("NOTIFICATION_RATE_PER_SECOND", default=10)
# A message the provider took (SENT) whose final status has not come back after this long is asked for.
NOTIFICATION_RECONCILE_AFTER_SECONDS = env.int("NOTIFICATION_RECONCILE_AFTER_SECONDS", default=15 * 60)
# The address the outside world reaches this service at (behind a TLS proxy, the proxy's): Twilio's status and
# inbound webhooks are signed for URLs under it, and nurses' messages link to their tasks with it. By default the
# address scripts/run.sh serves on (`manage.py demo` plays its story there).
PUBLIC_BASE_URL = served("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

# EMAIL: Django's mail API; in production an ESP through django-anymail (EMAIL_BACKEND, e.g.
# anymail.backends.postmark.EmailBackend, with its keys in ANYMAIL_SETTINGS).
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
ANYMAIL = env.json("ANYMAIL_SETTINGS", default={})
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Sequora <alerts@localhost>")
# One deadline for each email send, connect to the last answer (the ESP's API or the SMTP server); the ESP's and
# SMTP's own timeouts are per read.
EMAIL_TIMEOUT_SECONDS = env.float("EMAIL_TIMEOUT_SECONDS", default=15.0)
# PUSH: Web Push with VAPID (generate a key pair once: `manage.py generate_vapid_keys`).
VAPID_PUBLIC_KEY = env("VAPID_PUBLIC_KEY", default="")
VAPID_PRIVATE_KEY = env("VAPID_PRIVATE_KEY", default="")
VAPID_SUBJECT = env("VAPID_SUBJECT", default="mailto:alerts@localhost")
# The push services a browser's endpoint may name (a leading "*." allows any name under it): Google's (Chrome, Edge on
# Android), Mozilla's, Apple's and Microsoft's. Checked when a browser registers (400) and before every send: the
# server POSTs to the endpoint, so it must not be any URL a nurse's browser (or a forged request) chose.
PUSH_ALLOWED_HOSTS = env.list(
    "PUSH_ALLOWED_HOSTS",
    default=["fcm.googleapis.com", "updates.push.services.mozilla.com", "*.push.apple.com", "*.notify.windows.com"],
)
# Allow push endpoints whose host resolves to a private, loopback or link-local address (tests' local push servers).
PUSH_ALLOW_PRIVATE_HOSTS = env.bool("PUSH_ALLOW_PRIVATE_HOSTS", default=False)
# One deadline for each push to one browser: connect, TLS, send and the whole answer together.
PUSH_TIMEOUT_SECONDS = env.float("PUSH_TIMEOUT_SECONDS", default=5.0)

TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_WHATSAPP_FROM_NUMBER = env("TWILIO_WHATSAPP_FROM_NUMBER", default="")
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="https://api.twilio.com")
# One deadline for each request to Twilio, connect to the last byte of the answer.
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=10)
# A delivery claims its message for this long. It must outlast any provider call (TWILIO_TIMEOUT_SECONDS,
# EMAIL_TIMEOUT_SECONDS, PUSH_TIMEOUT_SECONDS for each browser), or a slow send could be repeated; past it, the
# claimer is taken for dead and the relay sends the message again.
NOTIFICATION_SEND_LEASE_SECONDS = env.int("NOTIFICATION_SEND_LEASE_SECONDS", default=60)
