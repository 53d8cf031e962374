"""deploy/Caddyfile in a real Caddy (Debian's `caddy`; .ci/run installs it), in front of local fake upstreams that
record what reaches them: the forwarded headers are the proxy's, never the client's; Flower needs a superuser's
admin session (asked of the app first) and then its own credential; its worker pages and control APIs never reach
Flower; /metrics and the probes are not served publicly."""

import base64
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CADDY = shutil.which("caddy")
pytestmark = pytest.mark.skipif(CADDY is None, reason="no caddy binary: apt-get install -y caddy (.ci/run does it)")
FLOWER_USER, FLOWER_PASSWORD = "ops", "flower-test-password"
# The fake app's answer to the proxy's /admin/flower-access/: 204 for this session cookie (a superuser's, verified by a
# one-time password: config/test_logins.py tests the real view), a redirect to the login for anything else.
SUPERUSER_SESSION = {"Cookie": "sessionid=superuser-verified"}


@dataclass
class Upstream:
    """A fake web app or Flower: answers 200 to everything and keeps each request's path and headers."""

    port: int
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


def start_upstream() -> tuple[Upstream, ThreadingHTTPServer]:
    upstream = Upstream(port=0)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            upstream.requests.append((self.command, self.path, dict(self.headers.items())))
            if self.path == "/admin/flower-access/":
                verified = self.headers.get("Cookie") == SUPERUSER_SESSION["Cookie"]
                self.send_response(204 if verified else 302)
                if not verified:
                    self.send_header("Location", "/admin/login/?next=" + self.headers.get("X-Forwarded-Uri", ""))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", "8")
            self.end_headers()
            self.wfile.write(b"upstream")

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    upstream.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return upstream, server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Proxy:
    url: str
    web: Upstream
    flower: Upstream


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Iterator[Proxy]:
    web, web_server = start_upstream()
    flower, flower_server = start_upstream()
    home = tmp_path_factory.mktemp("caddy")
    password_hash = subprocess.run(  # noqa: S603
        [CADDY, "hash-password", "--plaintext", FLOWER_PASSWORD], capture_output=True, text=True, check=True
    ).stdout.strip()
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "SITE_ADDRESS": f"http://127.0.0.1:{port}",
        "ACME_EMAIL": "ops@example.org",
        "CADDY_ADMIN": "off",
        "FLOWER_USER": FLOWER_USER,
        "FLOWER_PASSWORD_HASH": password_hash,
        "WEB_UPSTREAM": f"127.0.0.1:{web.port}",
        "FLOWER_UPSTREAM": f"127.0.0.1:{flower.port}",
    }
    log = (home / "caddy.log").open("w")
    process = subprocess.Popen(  # noqa: S603
        [CADDY, "run", "--config", str(ROOT / "deploy" / "Caddyfile"), "--adapter", "caddyfile"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            assert process.poll() is None, (home / "caddy.log").read_text()
            assert time.monotonic() < deadline, "caddy did not listen within 20 s"
            time.sleep(0.2)
    yield Proxy(url, web, flower)
    process.terminate()
    process.wait(timeout=10)
    log.close()
    web_server.shutdown()
    flower_server.shutdown()


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect is an answer to check, not to follow


def call(
    proxy: Proxy, path: str, method: str = "GET", headers: dict[str, str] | None = None, auth: str | None = None
) -> int:
    request = urllib.request.Request(proxy.url + path, method=method, headers=headers or {})  # noqa: S310
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        # 30 s: a bcrypt check (cost 14) on a machine other test runs keep busy.
        with urllib.request.build_opener(NoRedirects).open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_app_gets_the_proxys_forwarded_headers_never_the_clients(proxy):
    forged = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Host": "evil.example",
        "X-Real-IP": "203.0.113.9",
        "Forwarded": "for=203.0.113.9;proto=https",
    }

    assert call(proxy, "/api/v1/tasks/?page=2", headers=forged) == 200

    method, path, headers = proxy.web.requests[-1]
    assert (method, path) == ("GET", "/api/v1/tasks/?page=2")
    assert headers["X-Forwarded-Proto"] == "http"  # what the client really used (https in production)
    assert headers["X-Forwarded-For"] == "127.0.0.1"  # the client's real address, alone
    assert "203.0.113.9" not in str(headers)
    assert "X-Forwarded-Host" not in headers and "Forwarded" not in headers


@pytest.mark.parametrize(
    "auth", [None, f"{FLOWER_USER}:wrong", f"admin:{FLOWER_PASSWORD}", f"{FLOWER_USER}:{FLOWER_PASSWORD}"]
)
def test_without_a_superusers_session_flower_answers_before_any_password_is_checked(proxy, auth):
    """A guess at Flower's password (a bcrypt hash, seconds of CPU each) never reaches the check without a session:
    the app's answer (a redirect to admin's login) comes first, whatever the credential, even the right one."""
    seen = len(proxy.flower.requests)

    assert call(proxy, "/flower/", auth=auth) == 302
    assert call(proxy, "/flower/api/tasks", auth=auth) == 302
    assert len(proxy.flower.requests) == seen
    asked = [(path, headers.get("X-Forwarded-Uri")) for _, path, headers in proxy.web.requests[-2:]]
    assert asked == [("/admin/flower-access/", "/flower/"), ("/admin/flower-access/", "/flower/api/tasks")]


@pytest.mark.parametrize("auth", [None, f"{FLOWER_USER}:wrong", f"admin:{FLOWER_PASSWORD}"])
def test_with_a_superusers_session_flower_still_needs_its_own_credential(proxy, auth):
    seen = len(proxy.flower.requests)

    assert call(proxy, "/flower/", headers=SUPERUSER_SESSION, auth=auth) == 401
    assert call(proxy, "/flower/api/tasks", headers=SUPERUSER_SESSION, auth=auth) == 401
    assert len(proxy.flower.requests) == seen


def test_flower_is_served_under_its_prefix_with_the_session_and_the_credential(proxy):
    auth = f"{FLOWER_USER}:{FLOWER_PASSWORD}"

    assert call(proxy, "/flower/", headers=SUPERUSER_SESSION, auth=auth) == 200
    assert call(proxy, "/flower/tasks", headers=SUPERUSER_SESSION, auth=auth) == 200
    assert call(proxy, "/flower/broker", headers=SUPERUSER_SESSION, auth=auth) == 200
    assert [path for _, path, _ in proxy.flower.requests[-3:]] == ["/flower/", "/flower/tasks", "/flower/broker"]
    assert proxy.flower.requests[-1][2]["X-Forwarded-For"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/flower/worker/urgent@web1"),  # the worker page and its Config tab
        ("GET", "/flower/api/workers"),  # the same configuration as JSON
        ("GET", "/flower/api/workers?refresh=1"),
        ("POST", "/flower/api/worker/shutdown/urgent@web1"),
        ("POST", "/flower/api/worker/pool/restart/urgent@web1"),
        ("POST", "/flower/api/worker/pool/grow/urgent@web1?n=10"),
        ("POST", "/flower/api/worker/pool/shrink/urgent@web1?n=1"),
        ("POST", "/flower/api/worker/pool/autoscale/urgent@web1?min=1&max=20"),
        ("POST", "/flower/api/worker/queue/add-consumer/urgent@web1?queue=default"),
        ("POST", "/flower/api/worker/queue/cancel-consumer/urgent@web1?queue=urgent"),
        ("POST", "/flower/api/task/revoke/0f1e2d3c?terminate=true"),
        ("POST", "/flower/api/task/apply/bus.timers_sweep"),
        ("POST", "/flower/api/task/async-apply/bus.timers_sweep"),
        ("POST", "/flower/api/task/send-task/bus.timers_sweep"),
        ("POST", "/flower/api/task/abort/0f1e2d3c"),
        ("POST", "/flower/api/task/timeout/bus.timers_sweep?hard=1"),
        ("POST", "/flower/api/task/rate-limit/bus.timers_sweep?ratelimit=1"),
        # Spelled otherwise, the same paths are still refused.
        ("POST", "/FLOWER/api/worker/shutdown/urgent@web1"),
        ("POST", "/flower/api/worker/%73hutdown/urgent@web1"),
    ],
)
def test_flower_config_and_control_never_reach_flower(proxy, method, path):
    seen = len(proxy.flower.requests)

    assert call(proxy, path, method=method, headers=SUPERUSER_SESSION, auth=f"{FLOWER_USER}:{FLOWER_PASSWORD}") == 403
    assert len(proxy.flower.requests) == seen


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/readyz", "/readyz/?format=json"])
def test_metrics_and_probes_are_not_served_on_the_public_address(proxy, path):
    """Issue 19 row 13: /readyz and /healthz were served to the world. The pods' own port still answers them."""
    seen = len(proxy.web.requests)

    assert call(proxy, path) == 404
    assert len(proxy.web.requests) == seen
