"""The listener over a real socket, in its own process, against the test database."""

import ssl

import pytest

from care_events.models import Episode
from intake.models import AdtMessage
from tests.intake.messages import ack_fields, adt
from tests.intake.mllp import FS_CR, VT, Engine, Listener
from tests.notifications.test_outbound_guard import _certificate

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listener():
    running = Listener().start()
    yield running
    running.stop()


def test_messages_in_three_dialects_over_one_connection(listener):
    engine = Engine(listener.port)
    acks = [
        ack_fields(engine.send(adt("A01", dialect="cloverleaf", version="2.3", control_id="C1"))),
        ack_fields(engine.send(adt("A08", dialect="mirth", version="2.4", control_id="C2", last="Smith"))),
        ack_fields(engine.send(adt("A03", discharged="20261205143000", control_id="C3"))),
    ]
    assert [(a["code"], a["control_id"]) for a in acks] == [("AA", "C1"), ("AA", "C2"), ("AA", "C3")]
    episode = Episode.objects.get()
    assert episode.discharged_at is not None and episode.patient.last_name == "Smith"


def test_bad_frames_close_nothing_but_themselves(listener):
    engine = Engine(listener.port)
    engine.send_raw(b"noise without a start byte" + FS_CR)  # skipped, unanswered
    assert ack_fields(engine.send(b"junk"))["code"] == "AR"
    engine.send_raw(b"line noise" + VT + b"garbage" + VT)  # a broken frame: the last start byte begins the next
    assert ack_fields(engine.send(adt("A01", control_id="C1")))["code"] == "AA"
    ack = ack_fields(engine.send(adt("A01", control_id="C2", mrn="")))
    assert (ack["code"], ack["err_location"]) == ("AE", "PID^1^3")
    assert ack_fields(engine.send(b"MSH|^~\\&|" + b"x" * 2_000_000))["code"] == "AR"  # over the size limit
    assert ack_fields(engine.send(adt("A01", control_id="C3", visit="V2")))["code"] == "AA"
    assert listener.alive()
    assert AdtMessage.objects.filter(status="APPLIED").count() == 2


def test_windows_line_endings_and_utf8(listener):
    ack = Engine(listener.port).send(adt("A01", dialect="cloverleaf", last="Müller", charset="UNICODE UTF-8"))
    assert ack_fields(ack)["code"] == "AA"
    assert Episode.objects.get().patient.last_name == "Müller"


def test_killed_before_the_ack_the_resend_is_applied_once(listener):
    engine = Engine(listener.port)
    message = adt("A01", control_id="C1")
    engine.send_raw(VT + message + FS_CR)
    listener.kill()  # it may or may not have committed: the engine got no ACK either way
    listener.start()
    ack, _ = engine.send_until_acked(message)
    assert ack_fields(ack)["code"] == "AA"
    assert Episode.objects.count() == 1 and AdtMessage.objects.count() == 1


def test_tls_with_a_client_certificate_and_only_with_it(tmp_path):
    server_dir, client_dir = tmp_path / "server", tmp_path / "client"
    server_dir.mkdir(), client_dir.mkdir()
    cert, key = _certificate(server_dir)
    client_cert, client_key = _certificate(client_dir)  # self-signed: it is its own CA
    running = Listener(MLLP_TLS_CERT_FILE=cert, MLLP_TLS_KEY_FILE=key, MLLP_TLS_CLIENT_CA_FILE=client_cert).start()
    try:
        context = ssl.create_default_context(cafile=cert)
        context.load_cert_chain(client_cert, client_key)
        assert ack_fields(Engine(running.port, tls=context).send(adt("A01")))["code"] == "AA"

        no_client_cert = Engine(running.port, tls=ssl.create_default_context(cafile=cert), timeout=5)
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            no_client_cert.send(adt("A01", control_id="C-refused"))
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            Engine(running.port, timeout=5).send(adt("A01", control_id="C-plain"))  # plain TCP to a TLS port
        assert running.alive()
        assert AdtMessage.objects.count() == 1
    finally:
        running.stop()
