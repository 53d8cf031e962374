"""Logging: plain lines on stderr (production.py makes them JSON). A part of the settings that
config/settings/base.py imports. scripts/run.sh sends each process's lines to .run/logs/ (SEQUORA_VERBOSE=1: to its
terminal)."""

from typing import Any

from config.settings.environment import env

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    # A 4xx is logged as one line, without the traceback of the exception that made it (care_events/platform/logs.py).
    # No line holds a query string (PHI: a search's ?mrn=…&dob=…), whatever logs it (care_events/platform/logs.py).
    "filters": {
        "client_errors_on_one_line": {"()": "care_events.platform.logs.ClientErrorsOnOneLine"},
        "no_query_strings": {"()": "care_events.platform.logs.NoQueryStrings"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["client_errors_on_one_line", "no_query_strings"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Configuring Django's logger drops the handler Django gives it under DEBUG, which printed every request
        # warning (a 403, a 404) a second time; its records reach the root's handler like every other.
        "django": {"level": "INFO"},
        # django-axes announces itself at every start and each login at INFO: the audit trail records logins
        # (docs/audit.md); its warnings (a lockout) still show.
        "axes": {"level": "WARNING"},
        # The Twilio SDK logs every request at INFO with its query string, and the lookup of a message in doubt
        # filters by the recipient's number: PHI. Its warnings and errors still show.
        "twilio.http_client": {"level": "WARNING"},
    },
}
