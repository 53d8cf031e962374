"""A local fake of Twilio's REST API (creating and listing Messages and Calls): tests replace Twilio at the HTTP
boundary.

Usable in-process through the `fake_twilio` pytest fixture, or from any script (for example to serve a
separate Celery worker process): `FakeTwilio().start()`, point TWILIO_API_BASE_URL at `.url`, `stop()`.
"""

import base64
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import pytest

if TYPE_CHECKING:
    # Only for annotations: the class was named SettingsWrapper before pytest-django 4.12.
    from pytest_django.fixtures import Settings

API_VERSION = "2010-04-01"
_PATH = re.compile(
    rf"^/{API_VERSION}/Accounts/(?P<account_sid>[^/]+)/(?P<resource>Messages|Calls)(/(?P<sid>[A-Z]{{2}}[0-9a-f]{{32}}))?\.json$"
)
_SID_PREFIX = {"Messages": "SM", "Calls": "CA"}
# Twilio's own errors for a missing required parameter.
_REQUIRED = {
    "Messages": [
        ("To", 21604, "A 'To' phone number is required."),
        ("Body", 21602, "Message body is required."),
    ],
    "Calls": [("To", 21201, "No 'To' number is specified"), ("Twiml", 21205, "Url or Twiml is required")],
}


@dataclass(frozen=True)
class RecordedRequest:
    resource: str  # "Messages" or "Calls"
    account_sid: str
    form: dict[str, str]
    response_status: int
    sid: str  # the SID answered, "" when the request was failed on purpose


@dataclass(frozen=True)
class _Failure:
    status: int
    code: int
    message: str
    retry_after: int | None = None


class FakeTwilio:
    def __init__(self, *, account_sid: str = "", auth_token: str = "") -> None:
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        self.from_number = "+15005550006"  # Twilio's magic test sender
        self.whatsapp_from_number = "+14155238886"  # Twilio's WhatsApp sandbox sender
        # Accepted, then answered this much later: above the client timeout, the client times out on a message
        # that was created all the same.
        self.response_delay_seconds = 0.0
        self.lookup_delay_seconds = 0.0  # a slow answer to a fetch or a list (GET)
        self._requests: list[RecordedRequest] = []
        self._created: dict[str, list[dict[str, Any]]] = {"Messages": [], "Calls": []}  # resources, oldest first
        self.lookups = 0  # list (GET) requests answered
        self._failures: list[_Failure] = []
        self._outage: _Failure | None = None  # fail_always(): every request fails until it is lifted
        self._changed = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle.
    def start(self) -> "FakeTwilio":
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> "FakeTwilio":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeTwilio is not started"
        return f"http://127.0.0.1:{self._server.server_port}"

    def settings_overrides(self) -> dict[str, str]:
        """The TWILIO_* settings that point our backends here; as strings, so they also work as env vars."""
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_FROM_NUMBER": self.from_number,
            "TWILIO_WHATSAPP_FROM_NUMBER": self.whatsapp_from_number,
            "TWILIO_API_BASE_URL": self.url,
            "TWILIO_TIMEOUT_SECONDS": "5",
        }

    # Control and inspection.
    def fail_next(
        self, count: int = 1, *, status: int = 400, code: int = 21211, message: str = "", retry_after: int | None = None
    ) -> None:
        """Answer the next `count` authenticated requests with a Twilio error instead of creating anything."""
        failure = _Failure(status, code, message or f"Fake Twilio error {code}", retry_after)
        with self._changed:
            self._failures.extend([failure] * count)

    def fail_always(
        self, status: int | None, *, code: int = 20500, message: str = "", retry_after: int | None = None
    ) -> None:
        """An outage of the provider: answer every authenticated request with this error until called with None."""
        failure = (
            None if status is None else _Failure(status, code, message or f"Fake Twilio error {code}", retry_after)
        )
        with self._changed:
            self._outage = failure

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._changed:
            return list(self._requests)

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until `count` requests were recorded (for senders in another thread or process)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._requests) >= count, timeout=timeout):
                raise TimeoutError(f"FakeTwilio got {len(self._requests)} requests, expected {count}")
            return list(self._requests)

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        """What Twilio would report later about a message or call (read by a fetch of it)."""
        with self._changed:
            for created in self._created.values():
                for item in created:
                    if item["sid"] == sid:
                        item["status"], item["error_code"] = status, error_code

    def _fetch(self, resource: str, sid: str) -> dict[str, Any] | None:
        with self._changed:
            self.lookups += 1
            return next((item for item in self._created[resource] if item["sid"] == sid), None)

    def reset(self) -> None:
        with self._changed:
            self._requests.clear()
            self._failures.clear()
            self._outage = None
            for created in self._created.values():
                created.clear()
            self.lookups = 0

    # Request handling (called from server threads).
    def _take_failure(self) -> _Failure | None:
        with self._changed:
            return self._failures.pop(0) if self._failures else self._outage

    def _record(self, request: RecordedRequest, resource: dict[str, Any] | None = None) -> None:
        with self._changed:
            self._requests.append(request)
            if resource is not None:
                self._created[request.resource].append(resource)
            self._changed.notify_all()

    def _list(self, resource: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """Twilio's list filters To and From, newest first, one page of PageSize."""
        with self._changed:
            self.lookups += 1
            found = [
                item
                for item in reversed(self._created[resource])
                if all(item[field] == query[name] for name, field in (("To", "to"), ("From", "from")) if name in query)
            ]
        return found[: int(query.get("PageSize", 50))]

    def _authorized(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return secrets.compare_digest(header, f"Basic {expected}")


def _error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _message_resource(account_sid: str, sid: str, form: dict[str, str], now: str) -> dict[str, Any]:
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": form.get("Body", ""),
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": form.get("To"),
        "uri": f"{uri}.json",
    }


def _call_resource(account_sid: str, sid: str, form: dict[str, str], now: str) -> dict[str, Any]:
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}"
    return {
        "account_sid": account_sid,
        "annotation": None,
        "answered_by": None,
        "api_version": API_VERSION,
        "caller_name": None,
        "date_created": now,
        "date_updated": now,
        "direction": "outbound-api",
        "duration": None,
        "end_time": None,
        "forwarded_from": None,
        "from": form.get("From"),
        "from_formatted": form.get("From"),
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "price": None,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": sid,
        "start_time": None,
        "status": "queued",
        "subresource_uris": {
            "notifications": f"{uri}/Notifications.json",
            "recordings": f"{uri}/Recordings.json",
        },
        "to": form.get("To"),
        "to_formatted": form.get("To"),
        "trunk_sid": None,
        "uri": f"{uri}.json",
    }


_RESOURCE_BUILDERS = {"Messages": _message_resource, "Calls": _call_resource}


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a request held in response_delay_seconds must not block stop()
    fake: FakeTwilio

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out has hung up before the answer: expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    @property
    def fake(self) -> FakeTwilio:
        assert isinstance(self.server, _Server)
        return self.server.fake

    def log_message(self, format: str, *args: Any) -> None:
        # Silent: the default writes every request line to stderr.
        pass

    def _route(self, path: str) -> tuple[str, str, str | None] | None:
        """The account, resource and (for one message or call) SID of an authenticated request to a known path;
        otherwise answers the error."""
        match = _PATH.match(path)
        if not match:
            self._send_error(HTTPStatus.NOT_FOUND, 20404, "The requested resource was not found")
            return None
        account_sid, resource = match["account_sid"], match["resource"]
        if account_sid != self.fake.account_sid or not self.fake._authorized(self.headers.get("Authorization", "")):
            self._send_error(HTTPStatus.UNAUTHORIZED, 20003, "Authenticate")
            return None
        return account_sid, resource, match["sid"]

    def do_GET(self) -> None:
        path, _, query_string = self.path.partition("?")
        if (route := self._route(path)) is None:
            return
        resource, sid = route[1], route[2]
        if self.fake.lookup_delay_seconds:
            time.sleep(self.fake.lookup_delay_seconds)
        if (failure := self.fake._take_failure()) is not None:
            self._send_error(failure.status, failure.code, failure.message, failure.retry_after)
            return
        if sid is not None:
            found = self.fake._fetch(resource, sid)
            if found is None:
                self._send_error(HTTPStatus.NOT_FOUND, 20404, "The requested resource was not found")
            else:
                self._send_json(HTTPStatus.OK, found)
            return
        items = self.fake._list(resource, dict(parse_qsl(query_string, keep_blank_values=True)))
        uri = f"{path}?{query_string}"
        page = {"first_page_uri": uri, "next_page_uri": None, "previous_page_uri": None, "uri": uri}
        page |= {"page": 0, "page_size": len(items), "start": 0, "end": max(len(items) - 1, 0)}
        self._send_json(HTTPStatus.OK, {resource.lower(): items, **page})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        if (route := self._route(self.path)) is None:
            return
        account_sid, resource, _ = route
        self._answer(resource, account_sid, form)

    def _answer(self, resource: str, account_sid: str, form: dict[str, str]) -> None:
        failure = self.fake._take_failure() or _missing_parameter(resource, form)
        if failure is not None:
            self.fake._record(RecordedRequest(resource, account_sid, form, failure.status, ""))
            self._stall()
            self._send_error(failure.status, failure.code, failure.message, failure.retry_after)
            return
        sid = _SID_PREFIX[resource] + secrets.token_hex(16)
        created = _RESOURCE_BUILDERS[resource](account_sid, sid, form, formatdate(usegmt=True))
        # Like a slow Twilio: the message exists from here on, whether or not the answer reaches the client.
        self.fake._record(RecordedRequest(resource, account_sid, form, HTTPStatus.CREATED, sid), created)
        self._stall()
        self._send_json(HTTPStatus.CREATED, created)

    def _stall(self) -> None:
        if self.fake.response_delay_seconds:
            time.sleep(self.fake.response_delay_seconds)

    def _send_error(self, status: int, code: int, message: str, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self._send_json(status, _error_body(status, code, message), headers)

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _missing_parameter(resource: str, form: dict[str, str]) -> _Failure | None:
    for name, code, message in _REQUIRED[resource]:
        # Calls accept Url instead of Twiml.
        if not form.get(name) and not (name == "Twiml" and form.get("Url")):
            return _Failure(HTTPStatus.BAD_REQUEST, code, message)
    return None


@pytest.fixture(name="fake_twilio")
def fake_twilio_fixture(settings: "Settings") -> Iterator[FakeTwilio]:
    """A running FakeTwilio, with the TWILIO_* settings pointing at it for the duration of the test."""
    with FakeTwilio() as fake:
        for name, value in fake.settings_overrides().items():
            setattr(settings, name, value)
        settings.TWILIO_TIMEOUT_SECONDS = 5
        yield fake
