"""The one error taxonomy: which provider failures are worth retrying and which are final, for every backend.

Transient (retried with backoff until the message's own deadline, honouring the provider's Retry-After): rate limits
(HTTP 429, Twilio 20429), provider errors (5xx), timeouts and connection errors, and a handset out of reach (Twilio
30003). Permanent (failed at once, then the fallback of an urgent alert): an invalid, unreachable or landline number,
carrier filtering, an unsubscribed recipient (Twilio 21610, which also turns the patient's consent off), any other
4xx (bad credentials, a bad request). Only codes are kept: providers' messages quote the number or the body.
"""

import json

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.response import Response

from notifications.backends.base import PermanentSendError, SendError, TransientSendError

# Twilio's error codes (https://www.twilio.com/docs/api/errors) that settle the question whatever the HTTP status.
TWILIO_TRANSIENT = {20429, 30003}
TWILIO_PERMANENT = {21211, 21610, 21614, 30005, 30006, 30007}
TWILIO_UNSUBSCRIBED = 21610


def http_error(
    provider: str, status: int | None, code: int | str | None = None, *, retry_after: float | None = None
) -> SendError:
    """A provider answered with an error: 429 and 5xx are transient, any other status permanent."""
    error_code = f"{provider}:{code}" if code else f"http:{status}"
    detail = f"HTTP {status}" if status else ""
    if status == 429 or (status is not None and status >= 500):
        return TransientSendError(error_code, detail, retry_after=retry_after)
    return PermanentSendError(error_code, detail)


def network_error(exc: Exception) -> SendError:
    """No answer (connection refused, DNS, TLS, a timeout): the request may or may not have reached the provider,
    so the next attempt asks the provider before sending again."""
    return TransientSendError("network", type(exc).__name__, in_doubt=True)


def twilio_error(exc: Exception, *, retry_after: float | None = None) -> SendError:
    """A failed call to Twilio, sorted."""
    if isinstance(exc, TwilioRestException | TwilioServiceException):
        return _twilio_answered(exc.status, exc.code, retry_after)
    if isinstance(exc, TwilioException) and len(exc.args) > 1 and isinstance(exc.args[1], Response):
        # A list or fetch Twilio answered with an error: the SDK raises a bare "Unable to fetch page".
        response = exc.args[1]
        try:
            code = json.loads(response.text).get("code")
        except (ValueError, AttributeError):
            code = None
        return _twilio_answered(response.status_code, code, retry_after)
    if isinstance(exc, requests.RequestException | TwilioException):
        return network_error(exc)
    raise TypeError(f"not a Twilio or HTTP error: {type(exc).__name__}") from exc


def _twilio_answered(status: int, code: int | None, retry_after: float | None) -> SendError:
    if code in TWILIO_TRANSIENT:
        return TransientSendError(f"twilio:{code}", f"HTTP {status}", retry_after=retry_after)
    if code in TWILIO_PERMANENT:
        return PermanentSendError(f"twilio:{code}", f"HTTP {status}", unsubscribed=code == TWILIO_UNSUBSCRIBED)
    return http_error("twilio", status, code, retry_after=retry_after)


def retry_after_seconds(value: str | None) -> float | None:
    """An HTTP Retry-After in seconds (the delay form; the date form is rare for APIs and read as absent)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


# --- Email (Django's mail API: an Anymail ESP in production, SMTP possibly) -------------------------------------


def anymail_error(exc: Exception) -> SendError:
    """A failed email send, sorted: the ESP's answer through Anymail, or an SMTP server's. The exceptions' texts are
    never kept (Anymail's quotes the request payload, with the address and the body)."""
    # Imported where used: each provider library is needed only by its own channel's backend.
    import smtplib

    from anymail.exceptions import (
        AnymailAPIError,
        AnymailConfigurationError,
        AnymailError,
        AnymailInvalidAddress,
        AnymailRecipientsRefused,
    )

    if isinstance(exc, AnymailRecipientsRefused | smtplib.SMTPRecipientsRefused):
        return PermanentSendError("email:refused")
    if isinstance(exc, AnymailAPIError):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if response is None or status is None or status < 400:
            # No answer (Anymail wraps the connection error or the timeout), or an answer it could not read: the
            # ESP may have taken the message.
            return network_error(exc)
        retry_after = retry_after_seconds((response.headers or {}).get("Retry-After"))
        return http_error("email", status, retry_after=retry_after)
    if isinstance(exc, AnymailConfigurationError):
        return PermanentSendError("email:not_configured", "ESP settings missing or invalid")
    if isinstance(exc, AnymailInvalidAddress):
        return PermanentSendError("email:invalid_address")
    if isinstance(exc, AnymailError):
        # A message Anymail cannot put to the ESP (a feature it lacks, a value it cannot serialize): retrying the
        # same message cannot help.
        return PermanentSendError("email:rejected", type(exc).__name__)
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500:
        # The server answered with a permanent (5xx) reply: bad credentials, a refused sender or message.
        return PermanentSendError(f"smtp:{exc.smtp_code}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return TransientSendError(f"smtp:{exc.smtp_code}")
    if isinstance(exc, OSError):  # smtplib.SMTPException is an OSError: a dropped connection, a timeout
        return network_error(exc)
    raise TypeError(f"not a mail error: {type(exc).__name__}") from exc


# --- Web Push (pywebpush) ---------------------------------------------------------------------------------------

# The push service says the subscription no longer exists (the browser unsubscribed, or it expired): delete it.
WEBPUSH_GONE_STATUSES = {404, 410}
WEBPUSH_GONE = "push:gone"


def webpush_error(exc: Exception) -> SendError:
    """A failed push to one browser, sorted. `push:gone` (404, 410) means the subscription must be deleted; 429 and
    5xx are transient (with the push service's Retry-After); any other answer is permanent. No answer (a connection
    error, a timeout; pywebpush lets requests' exceptions through) is transient and in doubt."""
    from pywebpush import WebPushException  # imports aiohttp too: only the push backend pays for it

    if isinstance(exc, WebPushException):
        response = exc.response
        status = getattr(response, "status_code", None)
        if response is None or status is None:
            # Raised before any request: the subscription's keys are unusable.
            return PermanentSendError("push:bad_subscription")
        if status in WEBPUSH_GONE_STATUSES:
            return PermanentSendError(WEBPUSH_GONE, f"HTTP {status}")
        retry_after = retry_after_seconds((response.headers or {}).get("Retry-After"))
        return http_error("webpush", status, retry_after=retry_after)
    if isinstance(exc, requests.RequestException):
        return network_error(exc)
    raise TypeError(f"not a Web Push or HTTP error: {type(exc).__name__}") from exc
