"""One outbound POST to a subscriber's URL, under the rules a server calling a URL it was given must follow:

- one deadline for the whole call (connect, send, read), WEBHOOK_TIMEOUT_SECONDS, not a timeout per read: a server
  that drips one byte every few seconds is cut off at the deadline (a timer closes the socket);
- redirects are not followed (a 3xx is a failed attempt);
- https only where WEBHOOK_REQUIRE_HTTPS (production);
- the host is resolved here and every address checked: private, loopback, link-local, reserved or multicast ones
  are refused unless WEBHOOK_ALLOW_PRIVATE_HOSTS, and the connection goes to the address checked (no second lookup
  that a rebinding DNS could answer otherwise);
- the response body is read (at most 64 KB, to free the connection) and dropped: never logged or stored.
"""

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

from django.conf import settings

MAX_RESPONSE_BYTES = 64 * 1024


class WebhookURLRefusedError(Exception):
    """The URL may not be called (scheme, host). Permanent: retrying changes nothing."""


class WebhookTransportError(Exception):
    """The call failed on the way (DNS, connect, TLS, timeout, reset). Retried."""


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WebhookTransportError(f"DNS: {exc.strerror}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not settings.WEBHOOK_ALLOW_PRIVATE_HOSTS:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global or ip.is_multicast:
                raise WebhookURLRefusedError("The URL's host resolves to a private or reserved address.")
    return addresses


def url_check(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of a URL we may call, or WebhookURLRefusedError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookURLRefusedError("The URL must be http(s)://host/...")
    if parts.scheme != "https" and settings.WEBHOOK_REQUIRE_HTTPS:
        raise WebhookURLRefusedError("The URL must be https.")
    if parts.username or parts.password:
        raise WebhookURLRefusedError("The URL must not carry credentials.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def webhook_post(url: str, *, body: bytes, headers: dict[str, str]) -> int:
    """POST `body` and return the response's status code (any: the caller decides what a 3xx, 4xx, 5xx means)."""
    scheme, host, port, path = url_check(url)
    deadline = time.monotonic() + settings.WEBHOOK_TIMEOUT_SECONDS
    address = _addresses(host, port)[0]
    remaining = max(0.1, deadline - time.monotonic())
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address, remaining)
    # The whole call's deadline: whatever phase it is in, the socket is closed then and the call fails.
    watchdog = threading.Timer(remaining, connection.close)
    watchdog.start()
    try:
        connection.request("POST", path, body=body, headers={**headers, "user-agent": "Sequora-Webhooks/1"})
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)  # dropped unread: a receiver's body is none of our logs' business
        status = response.status
    except (OSError, http.client.HTTPException, AttributeError) as exc:
        # AttributeError: http.client reading from a socket the watchdog closed.
        reason = "timed out" if time.monotonic() >= deadline else type(exc).__name__
        raise WebhookTransportError(reason) from None
    finally:
        watchdog.cancel()
        connection.close()
    if time.monotonic() > deadline:
        raise WebhookTransportError("timed out")
    return status
