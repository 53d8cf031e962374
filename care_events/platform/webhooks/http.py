"""Outbound HTTP that a URL we were given, or a slow provider, cannot turn against us: the one way every provider
call (Web Push, Twilio, email) and every outbound webhook is made.

- `outbound_call(seconds)`: one deadline for the whole call (DNS aside: connect, TLS, send, every read), not a
  timeout per read. Every socket the calling thread connects inside the block is noted (Python's `socket.connect`
  audit event) and shut down at the deadline by a timer, so an endpoint that drips one byte every 2 s is cut off
  then; the block raises OutboundDeadlineError. Libraries that keep connections from one call to the next would
  escape it: callers make a new connection per call (a pooled socket was connected outside the block).
- `outbound_call(seconds, public_only=True)`: the address each socket connects to (after DNS: the very address,
  so a rebinding DNS has no second answer) is refused when it is not a public one: private, loopback, link-local,
  CGNAT (100.64/10), reserved or multicast (OutboundRefusedError, before any byte leaves).
- `guarded_session()`: a requests session that never follows a redirect (a 3xx is the answer: it could point
  anywhere) and ignores proxy variables from the environment (a proxy would connect in our place, past the address
  check).
- `webhook_post`: a subscriber's URL, https only where WEBHOOK_REQUIRE_HTTPS (production), its body read (at most
  64 KB) and dropped: never logged or stored.
"""

import contextlib
import ipaddress
import os
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

MAX_RESPONSE_BYTES = 64 * 1024


class _CodedError(Exception):
    """An error with a `code` (a token, no free text): what a row keeps of it (care_events/platform/bus/retry.py)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class WebhookURLRefusedError(_CodedError):
    """The URL may not be called (scheme, host). Permanent: retrying changes nothing."""


class WebhookTransportError(_CodedError):
    """The call failed on the way (DNS, connect, TLS, timeout, reset). Retried."""


class OutboundRefusedError(Exception):
    """A socket was about to connect to an address that is not public. Not an OSError, so that no library takes it
    for a failed connection and tries the next address or again."""


class OutboundDeadlineError(TimeoutError):
    """The call's total deadline passed; its sockets were shut down."""


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    # is_global is false for private, loopback, link-local, CGNAT (shared, 100.64/10) and reserved ranges.
    return ip.is_global and not ip.is_multicast


class _Call:
    """One outbound call on one thread: its sockets (file descriptors: a TLS wrapper takes over the socket object),
    and whether the deadline cut them."""

    def __init__(self, public_only: bool) -> None:
        self.public_only = public_only
        self.fds: list[int] = []
        self.lock = threading.Lock()
        self.cut = False
        self.done = False

    def connecting(self, sock: socket.socket, address: Any) -> None:
        if self.public_only and isinstance(address, tuple) and not is_public_address(str(address[0])):
            raise OutboundRefusedError("not a public address")
        with self.lock:
            self.fds.append(sock.fileno())

    def cut_off(self) -> None:
        with self.lock:
            if self.done:
                return
            self.cut = True
            for fd in self.fds:
                with contextlib.suppress(OSError):
                    sock = socket.socket(fileno=fd)
                    try:
                        sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read at once; the owner closes it
                    finally:
                        sock.detach()


_current = threading.local()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        call = getattr(_current, "call", None)
        if call is not None:
            call.connecting(*args)


sys.addaudithook(_audit)


@contextlib.contextmanager
def outbound_call(seconds: float, *, public_only: bool = False) -> Iterator[None]:
    """Run the block's network calls under one total deadline (and, `public_only`, to public addresses only)."""
    call = _Call(public_only)
    _current.call = call
    timer = threading.Timer(seconds, call.cut_off)
    timer.daemon = True
    timer.start()
    try:
        yield
    except OutboundRefusedError:
        raise
    except Exception as exc:
        if call.cut:
            raise OutboundDeadlineError(f"no answer within {seconds:g} s") from exc
        raise
    finally:
        with call.lock:
            call.done = True
        timer.cancel()
        _current.call = None
    if call.cut:
        raise OutboundDeadlineError(f"no answer within {seconds:g} s")


class _NoRedirectSession(requests.Session):
    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


def guarded_session() -> requests.Session:
    session = _NoRedirectSession()
    session.trust_env = False  # no HTTP(S)_PROXY from the environment
    # The one environment setting kept: the CA bundle that verifies the servers' certificates (a TLS-inspecting
    # gateway's, a test's own CA), REQUESTS_CA_BUNDLE as requests reads it.
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or True
    return session


def url_check(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of a URL we may call, or WebhookURLRefusedError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookURLRefusedError("The URL must be http(s)://host/...", code="not_http")
    if parts.scheme != "https" and settings.WEBHOOK_REQUIRE_HTTPS:
        raise WebhookURLRefusedError("The URL must be https.", code="not_https")
    if parts.username or parts.password:
        raise WebhookURLRefusedError("The URL must not carry credentials.", code="credentials")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def webhook_post(url: str, *, body: bytes, headers: dict[str, str]) -> int:
    """POST `body` and return the response's status code (any: the caller decides what a 3xx, 4xx, 5xx means)."""
    url_check(url)
    seconds = settings.WEBHOOK_TIMEOUT_SECONDS
    try:
        with guarded_session() as session, outbound_call(seconds, public_only=not settings.WEBHOOK_ALLOW_PRIVATE_HOSTS):
            response = session.post(
                url,
                data=body,
                headers={**headers, "user-agent": "Sequora-Webhooks/1"},
                timeout=seconds,
                stream=True,
            )
            with response:
                response.raw.read(MAX_RESPONSE_BYTES)  # dropped unread: a receiver's body is none of our logs' business
    except OutboundRefusedError:
        raise WebhookURLRefusedError(
            "The URL's host resolves to a private or reserved address.", code="private_address"
        ) from None
    except OutboundDeadlineError:
        raise WebhookTransportError("timed out", code="timed_out") from None
    except requests.RequestException as exc:
        raise WebhookTransportError(type(exc).__name__, code=type(exc).__name__) from None
    return response.status_code
