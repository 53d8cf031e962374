"""Twilio backends: SMS (and its WhatsApp route) and voice calls, through the official SDK."""

import datetime as dt
import html
import logging
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from care_events.platform.webhooks.http import OutboundDeadlineError, outbound_call
from notifications.backends.base import OutgoingMessage, PermanentSendError, SendResult
from notifications.backends.errors import retry_after_seconds, twilio_error

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.twilio.com"
DEFAULT_TIMEOUT_SECONDS = 10.0
WHATSAPP_PREFIX = "whatsapp:"
# Asking Twilio what it sent after an attempt in doubt: how many recent messages to read, and how far before the
# attempt began (our clock) Twilio's own timestamp may fall.
LOOKUP_LIMIT = 100  # a nurse can get dozens of messages in a surge; one page of 100 is still one request
CLOCK_SKEW = dt.timedelta(seconds=60)
# api.twilio.com, and the edge/region forms the SDK builds from TWILIO_EDGE / TWILIO_REGION
# (api.us1.twilio.com, api.sydney.au1.twilio.com).
_TWILIO_API_HOST = re.compile(r"api(\.[a-z0-9-]+){0,2}\.twilio\.com", re.IGNORECASE)


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str
    whatsapp_from_number: str
    api_base_url: str
    timeout_seconds: float

    @classmethod
    def from_settings(cls) -> "TwilioConfig":
        # Read on every send rather than once, so override_settings and the test fixtures take effect.
        return cls(
            account_sid=getattr(settings, "TWILIO_ACCOUNT_SID", ""),
            auth_token=getattr(settings, "TWILIO_AUTH_TOKEN", ""),
            from_number=getattr(settings, "TWILIO_FROM_NUMBER", ""),
            whatsapp_from_number=getattr(settings, "TWILIO_WHATSAPP_FROM_NUMBER", ""),
            api_base_url=getattr(settings, "TWILIO_API_BASE_URL", "") or DEFAULT_API_BASE_URL,
            timeout_seconds=float(getattr(settings, "TWILIO_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)),
        )


def rewrite_api_url(url: str, base_url: str) -> str:
    """Point a Twilio REST API URL at `base_url` (a local fake in tests); a no-op for the real API."""
    base_url = base_url.rstrip("/")
    # With the default base URL, edge and region hosts must stay as the SDK built them.
    if base_url == DEFAULT_API_BASE_URL:
        return url
    parts = urlsplit(url)
    if parts.scheme != "https" or not _TWILIO_API_HOST.fullmatch(parts.hostname or ""):
        return url
    return base_url + parts.path + (f"?{parts.query}" if parts.query else "")


class BaseUrlTwilioHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, sending api.twilio.com requests to the configured base URL, each under one deadline
    (TWILIO_TIMEOUT_SECONDS for the whole request: connect, TLS, send and the answer; care_events/platform/webhooks/
    http.py), which the SDK's own timeout (per read) is not."""

    def __init__(self, *, base_url: str, timeout: float) -> None:
        # No max_retries: retrying is the delivery task's decision, made from the SendError we raise. No kept
        # connections: each request connects inside its own deadline's watch.
        super().__init__(timeout=timeout, pool_connections=False)
        self.base_url = base_url
        self.deadline_seconds = timeout

    # The Retry-After of the last answer (Twilio sends one with its 429s): the SDK's exceptions do not carry headers.
    # One request at a time per client: a worker process sends one message at a time.
    retry_after: float | None = None

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        try:
            with outbound_call(self.deadline_seconds):
                response = super().request(
                    method,
                    rewrite_api_url(url, self.base_url),
                    params=params,
                    data=data,
                    headers=headers,
                    auth=auth,
                    timeout=timeout,
                    allow_redirects=allow_redirects,
                )
        except OutboundDeadlineError:
            # As a timeout, which the taxonomy already knows: no answer, the message may have left.
            raise requests.Timeout("deadline") from None
        self.retry_after = retry_after_seconds((response.headers or {}).get("Retry-After"))
        return response


class _TwilioBackend(ABC):
    provider = "twilio"

    def __init__(self) -> None:
        # One SDK client (and its connection pool) per configuration; rebuilt when the settings change.
        self._client: tuple[TwilioConfig, Client] | None = None

    def send(self, message: OutgoingMessage) -> SendResult:
        config = TwilioConfig.from_settings()
        self._check_configured(config, message)
        client = self._client_for(config)
        try:
            sid, status = self._create(client, config, message)
        except (TwilioException, requests.RequestException) as exc:
            error = twilio_error(exc, retry_after=client.http_client.retry_after)  # type: ignore[attr-defined]
            logger.warning("twilio %s send failed code=%s retryable=%s", message.channel, error.code, error.retryable)
            # `from None`: the provider's exception text may hold the number; keep it out of tracebacks.
            raise error from None
        logger.info("twilio %s send accepted sid=%s", message.channel, sid)
        return SendResult(provider=self.provider, message_id=sid, status=status)

    def find_sent(self, message: OutgoingMessage, *, since: dt.datetime) -> list[SendResult]:
        config = TwilioConfig.from_settings()
        self._check_configured(config, message)
        cutoff = since - CLOCK_SKEW
        try:
            found = self._recent(self._client_for(config), config, message)
        except (TwilioException, requests.RequestException) as exc:
            error = twilio_error(exc)
            logger.warning("twilio %s lookup failed code=%s", message.channel, error.code)
            raise error from None
        # Twilio lists newest first.
        return [
            SendResult(provider=self.provider, message_id=str(sid), status=status, sent_at=created)
            for sid, created, status in reversed(found)
            if created is not None and created >= cutoff
        ]

    def fetch_status(self, message_id: str) -> tuple[str, str]:
        config = TwilioConfig.from_settings()
        try:
            return self._fetch(self._client_for(config), message_id)
        except (TwilioException, requests.RequestException) as exc:
            error = twilio_error(exc)
            logger.warning("twilio status lookup failed code=%s", error.code)
            raise error from None

    def _check_configured(self, config: TwilioConfig, message: OutgoingMessage) -> None:
        if not (config.account_sid and config.auth_token and self._from_number(config, message)):
            raise PermanentSendError("not_configured", "Twilio credentials or sender number missing")

    def _client_for(self, config: TwilioConfig) -> Client:
        if self._client is None or self._client[0] != config:
            http = BaseUrlTwilioHttpClient(base_url=config.api_base_url, timeout=config.timeout_seconds)
            client = Client(config.account_sid, config.auth_token, http_client=http)
            self._client = (config, client)
        return self._client[1]

    def _from_number(self, config: TwilioConfig, message: OutgoingMessage) -> str:
        return config.from_number

    @abstractmethod
    def _create(self, client: Client, config: TwilioConfig, message: OutgoingMessage) -> tuple[str, str]:
        """Create the message or call at Twilio; its SID and status."""

    @abstractmethod
    def _recent(
        self, client: Client, config: TwilioConfig, message: OutgoingMessage
    ) -> list[tuple[str, dt.datetime | None, str]]:
        """SID, creation time and status of the latest messages or calls Twilio holds for this message, newest
        first."""

    @abstractmethod
    def _fetch(self, client: Client, sid: str) -> tuple[str, str]:
        """The status Twilio has for the message or call, and its error code ("" if none)."""


def _whatsapp_address(number: str) -> str:
    return number if number.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + number


class TwilioSmsBackend(_TwilioBackend):
    def _from_number(self, config: TwilioConfig, message: OutgoingMessage) -> str:
        return config.whatsapp_from_number if message.whatsapp else config.from_number

    def _addresses(self, config: TwilioConfig, message: OutgoingMessage) -> tuple[str, str]:
        to, from_ = message.to, self._from_number(config, message)
        if message.whatsapp:
            to, from_ = _whatsapp_address(to), _whatsapp_address(from_)
        return to, from_

    def _create(self, client: Client, config: TwilioConfig, message: OutgoingMessage) -> tuple[str, str]:
        to, from_ = self._addresses(config, message)
        optional = {"status_callback": message.status_callback_url} if message.status_callback_url else {}
        created = client.messages.create(to=to, from_=from_, body=message.body, **optional)
        return str(created.sid), str(created.status or "queued")

    def _recent(
        self, client: Client, config: TwilioConfig, message: OutgoingMessage
    ) -> list[tuple[str, dt.datetime | None, str]]:
        to, from_ = self._addresses(config, message)
        # Same sender, recipient and text: our messages carry the task's reference, so the text tells them apart.
        recent = client.messages.list(to=to, from_=from_, limit=LOOKUP_LIMIT)
        return [(str(m.sid), m.date_created, str(m.status or "sent")) for m in recent if m.body == message.body]

    def _fetch(self, client: Client, sid: str) -> tuple[str, str]:
        found = client.messages(sid).fetch()
        return str(found.status), str(found.error_code or "")


class TwilioVoiceBackend(_TwilioBackend):
    def _create(self, client: Client, config: TwilioConfig, message: OutgoingMessage) -> tuple[str, str]:
        # The body is text inside XML: escape it so "<", ">" and "&" are read out, not parsed as TwiML.
        twiml = f"<Response><Say>{html.escape(message.body, quote=False)}</Say></Response>"
        optional = {"status_callback": message.status_callback_url} if message.status_callback_url else {}
        created = client.calls.create(to=message.to, from_=config.from_number, twiml=twiml, **optional)
        return str(created.sid), str(created.status or "queued")

    def _recent(
        self, client: Client, config: TwilioConfig, message: OutgoingMessage
    ) -> list[tuple[str, dt.datetime | None, str]]:
        # A call's text is not listed, so any call to this nurse since the attempt began counts as this one;
        # delivery skips calls another notification already recorded as its own.
        recent = client.calls.list(to=message.to, from_=config.from_number, limit=LOOKUP_LIMIT)
        return [(str(c.sid), c.date_created, str(c.status or "queued")) for c in recent]

    def _fetch(self, client: Client, sid: str) -> tuple[str, str]:
        return str(client.calls(sid).fetch().status), ""
