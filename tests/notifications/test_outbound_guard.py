"""Issue 19 rows 2 and 3: provider calls a slow or hostile server cannot hold or turn. Real local servers (TLS for the
push endpoints, with the test's own CA) stand in for a nurse's push endpoint, an internal service, Twilio's API and an
SMTP server; pywebpush, requests, the Twilio SDK and smtplib run for real.

- A push endpoint that answers one byte every 2 s costs one push of PUSH_TIMEOUT_SECONDS, then fails for good, and an
  urgent alert goes on to the nurse's next channel at once.
- A redirect is the answer, never followed; an endpoint whose name resolves to a private address is refused on the
  connection itself, before a byte is sent.
- Twilio and email sends have one deadline each, whatever the server drips.
"""

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils import timezone

from care_events.choices import Channel, NotificationType
from care_events.notify import notification_request
from care_events.platform.webhooks.http import is_public_address
from notifications.backends import PermanentSendError, TransientSendError
from notifications.backends.email import EmailBackend
from notifications.backends.push import WebPushBackend
from notifications.backends.twilio import TwilioSmsBackend
from notifications.models import NotificationLog, NotificationStatus
from tasks_app.notify import assignment_key
from tests.helpers import drain
from tests.notifications.test_push import Browser, push, vapid  # noqa: F401 - vapid is a fixture
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory

pytestmark = pytest.mark.django_db

DRIP = 2.0  # seconds between two bytes, as in the issue


@dataclass
class Server:
    port: int
    hits: list[str] = field(default_factory=list)  # request lines, or "connected"


def _certificate(tmp_path) -> tuple[str, str]:
    """A self-signed certificate for localhost and 127.0.0.1, which the test trusts as its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def serve(tmp_path, monkeypatch) -> Iterator[Callable[..., Server]]:
    """serve(answer, tls=True): a local server whose handler calls answer(handler, server) for every POST."""
    cert, key = _certificate(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    running: list[ThreadingHTTPServer] = []

    def start(answer: Callable[[BaseHTTPRequestHandler, Server], None], *, tls: bool = True) -> Server:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                record.hits.append(self.requestline)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer(self, record)

            do_GET = do_POST

            def log_message(self, *args: object) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        record = Server(httpd.server_address[1])
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        running.append(httpd)
        return record

    yield start
    for httpd in running:
        httpd.shutdown()


def drip(handler: BaseHTTPRequestHandler, server: Server) -> None:
    """One byte of a 201 every DRIP seconds: each read gets a byte well within any per-read timeout."""
    for byte in b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n":
        try:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
        except OSError:
            server.hits.append("cut off")
            return
        time.sleep(DRIP)


@pytest.fixture
def local_push(settings):
    """Push endpoints on this machine may be called (the test's servers): the allow-list names localhost."""
    settings.PUSH_ALLOWED_HOSTS = ["localhost"]
    settings.PUSH_ALLOW_PRIVATE_HOSTS = True
    settings.PUSH_TIMEOUT_SECONDS = 3.0


def test_a_push_endpoint_that_drips_costs_one_bounded_push_then_fails_for_good(vapid, local_push, serve):  # noqa: F811
    nurse = NurseFactory(preferred_channel=Channel.PUSH)
    server = serve(drip)
    Browser(f"https://localhost:{server.port}/wpush/trap").subscribe(nurse)

    started = time.monotonic()
    with pytest.raises(PermanentSendError) as caught:
        WebPushBackend().send(push(nurse))
    elapsed = time.monotonic() - started

    # The per-read timeout (3 s) never fires on a 2 s drip: without the deadline this takes 22 bytes x 2 s.
    assert 3.0 <= elapsed < 3.0 + DRIP, elapsed
    assert caught.value.code == "push:deadline"
    assert server.hits == ["POST /wpush/trap HTTP/1.1"]


def test_an_urgent_alert_whose_push_drips_goes_to_the_next_channel_after_one_attempt(
    vapid,  # noqa: F811
    local_push,
    serve,
    settings,
):
    settings.PUSH_TIMEOUT_SECONDS = 1.0
    settings.NOTIFICATION_BACKENDS = {
        **settings.NOTIFICATION_BACKENDS,
        "PUSH": "notifications.backends.push.WebPushBackend",
    }
    nurse = NurseFactory(preferred_channel=Channel.PUSH, fallback_channels=["SMS"])
    server = serve(drip)
    Browser(f"https://localhost:{server.port}/wpush/trap").subscribe(nurse)
    task = EscalationTaskFactory(assigned_to=nurse, status="ASSIGNED", assigned_at=timezone.now(), severity="HIGH")

    started = time.monotonic()
    notification_request(
        notification_type=NotificationType.TASK_ASSIGNED,
        dedupe_key=assignment_key(task_id=task.pk, nurse_id=nurse.pk, assigned_at=task.assigned_at),
        recipient_nurse_id=nurse.pk,
        task_id=task.pk,
    )
    drain()
    elapsed = time.monotonic() - started

    rows = {row.channel: row for row in NotificationLog.objects.filter(recipient_nurse=nurse)}
    assert (rows[Channel.PUSH].status, rows[Channel.PUSH].error_code, rows[Channel.PUSH].attempts) == (
        NotificationStatus.FAILED,
        "push:deadline",
        1,
    )
    assert rows[Channel.SMS].replaces_id == rows[Channel.PUSH].pk
    assert rows[Channel.SMS].status in (NotificationStatus.SENT, NotificationStatus.DELIVERED)
    assert server.hits == ["POST /wpush/trap HTTP/1.1"]  # one attempt, not one per retry
    assert elapsed < 1.0 + DRIP + 2.0, elapsed


def test_a_redirect_is_the_answer_and_never_followed(vapid, local_push, serve):  # noqa: F811
    nurse = NurseFactory(preferred_channel=Channel.PUSH)
    internal = serve(lambda handler, server: handler.send_error(500), tls=False)

    def redirect(handler: BaseHTTPRequestHandler, server: Server) -> None:
        handler.send_response(307)
        handler.send_header("Location", f"http://127.0.0.1:{internal.port}/admin/flush")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    Browser(f"https://localhost:{serve(redirect).port}/wpush/redirect").subscribe(nurse)

    with pytest.raises(PermanentSendError) as caught:
        WebPushBackend().send(push(nurse))

    assert caught.value.code == "http:307"
    assert internal.hits == []


def test_an_endpoint_resolving_to_a_private_address_is_refused_before_any_byte(vapid, local_push, serve, settings):  # noqa: F811
    settings.PUSH_ALLOW_PRIVATE_HOSTS = False  # production's: "localhost" is allowed by name, but resolves inward
    nurse = NurseFactory(preferred_channel=Channel.PUSH)
    server = serve(lambda handler, server: handler.send_response(201))
    Browser(f"https://localhost:{server.port}/wpush/inward").subscribe(nurse)

    with pytest.raises(PermanentSendError) as caught:
        WebPushBackend().send(push(nurse))

    assert caught.value.code == "push:endpoint_refused"
    assert server.hits == []


def test_an_endpoint_off_the_allow_list_is_refused_at_send_time_too(vapid, serve):  # noqa: F811
    """A row written before the allow-list (or by hand in the database) is checked again before each push."""
    nurse = NurseFactory(preferred_channel=Channel.PUSH)
    server = serve(lambda handler, server: handler.send_response(201))
    Browser(f"https://localhost:{server.port}/wpush/old-row").subscribe(nurse)

    with pytest.raises(PermanentSendError) as caught:
        WebPushBackend().send(push(nurse))

    assert caught.value.code == "push:endpoint_refused"
    assert server.hits == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.20.0.5", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # a cloud's metadata service
        ("100.64.0.7", False),  # CGNAT
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("fe80::1%eth0", False),
        ("fd00::5", False),
        ("224.0.0.1", False),
        ("142.250.74.202", True),
        ("2a00:1450:4007:80e::200a", True),
    ],
)
def test_which_addresses_are_public(address, public):
    assert is_public_address(address) is public


def test_a_twilio_api_that_drips_costs_one_deadline(serve, settings):
    """The SDK's timeout is per read: a server dripping within it held a worker for as long as it liked."""
    server = serve(drip, tls=False)
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{server.port}"
    settings.TWILIO_TIMEOUT_SECONDS = 1.0
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "token"
    settings.TWILIO_FROM_NUMBER = "+15005550006"

    started = time.monotonic()
    with pytest.raises(TransientSendError) as caught:
        TwilioSmsBackend().send(push(NurseFactory(), channel="SMS", to="+12025550143"))
    elapsed = time.monotonic() - started

    assert elapsed < 1.0 + DRIP, elapsed
    assert (caught.value.code, caught.value.in_doubt) == ("network", True)


def test_an_smtp_server_that_drips_costs_one_deadline(settings):
    """smtplib's timeout is per read too; the greeting here comes one byte every 2 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    connections: list[socket.socket] = []

    def greet() -> None:
        connection, _ = listener.accept()
        connections.append(connection)
        for byte in b"220 mail.example ESMTP\r\n":
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                return
            time.sleep(DRIP)

    threading.Thread(target=greet, daemon=True).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", listener.getsockname()[1], 5
    settings.EMAIL_TIMEOUT_SECONDS = 1.0

    started = time.monotonic()
    with pytest.raises(TransientSendError) as caught:
        EmailBackend().send(push(NurseFactory(), channel="EMAIL", to="nurse@example.org"))
    elapsed = time.monotonic() - started
    listener.close()

    assert elapsed < 1.0 + DRIP, elapsed
    assert caught.value.in_doubt
