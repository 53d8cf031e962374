"""An interface engine sends 1,000 ADT messages over MLLP (duplicates, discharges before their admission, cancels,
merges, errors), and the listener is killed twice mid-stream, between a message and its ACK: every message ends
applied exactly once or refused with a reason, and the patients, episodes, check-ins and readmission flags are
exactly those expected. Then thousands of fuzzed and truncated frames, and the listener still answers."""

import random

import pytest

from care_events.models import Episode, Patient
from care_events.platform.bus.dispatch import handler_run_execute
from care_events.platform.bus.models import Event, HandlerRun, Timer, TimerKind
from intake.models import AdtMessage
from tests.intake.feed import feed
from tests.intake.messages import ack_fields, adt
from tests.intake.mllp import FS_CR, VT, Engine, Listener

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(900)]


@pytest.fixture
def listener():
    running = Listener().start()
    yield running
    running.stop()


def test_a_thousand_messages_with_the_listener_killed_twice(listener):
    stream, expected = feed(380)
    assert len(stream) >= 1000
    kills = {len(stream) // 3, 2 * len(stream) // 3}
    engine, acks, resent = Engine(listener.port), {}, 0
    for index, (control_id, message) in enumerate(stream):
        if index in kills:
            engine.send_raw(VT + message + FS_CR)
            listener.kill()  # between the message and its ACK: applied or not, the engine does not know
            listener.start()
        ack, tries = engine.send_until_acked(message)
        resent += tries - 1
        fields = ack_fields(ack)
        assert fields["control_id"] == control_id
        acks[control_id] = fields
    assert resent >= 2  # the messages in flight at the kills were sent again

    # Every message: applied once, or refused with a reason (the ACK says which, and the row agrees).
    rows = {row.control_id: row for row in AdtMessage.objects.all()}
    assert set(rows) == set(expected.outcomes)
    for control_id, outcome in expected.outcomes.items():
        row, ack = rows[control_id], acks[control_id]
        assert row.status == outcome, (control_id, row.status, row.error)
        assert ack["code"] == {"APPLIED": "AA", "ERROR": "AE", "REJECTED": "AR"}[outcome]
        if outcome != "APPLIED":
            assert ack["text"] and ack["err_code"], ack

    # The episodes, exactly.
    episodes = {e.visit_number: e for e in Episode.objects.select_related("patient", "readmission")}
    assert set(episodes) == set(expected.visits)
    for visit, want in expected.visits.items():
        episode = episodes[visit]
        got = {
            "mrn": episode.patient.mrn,
            "discharged": episode.discharged_at is not None,
            "cancelled": episode.cancelled_at is not None,
            "readmission": episode.readmission.visit_number if episode.readmission else None,
        }
        assert got == want, visit

    # The patients, exactly (a merged record stays, pointing at the survivor).
    patients = {p.mrn: p for p in Patient.objects.select_related("merged_into")}
    assert set(patients) == set(expected.patients)
    for mrn, want in expected.patients.items():
        patient = patients[mrn]
        got = {
            "phone": patient.phone,
            "last_name": patient.last_name,
            "merged_into": patient.merged_into.mrn if patient.merged_into else None,
        }
        assert got == want, mrn

    # One discharge event per discharged stay; its handler (as a worker runs it) leaves a pending check-in exactly
    # for the stays still discharged: none for a cancelled discharge.
    assert Event.objects.filter(name="patient/discharged").count() == expected.discharges
    for run_id in HandlerRun.objects.filter(handler="schedule-checkin").values_list("pk", flat=True):
        handler_run_execute(run_id=run_id)
    pending = set(
        Episode.objects.filter(
            pk__in=Timer.objects.pending().filter(kind=TimerKind.CHECKIN_DUE).values("subject_id")
        ).values_list("visit_number", flat=True)
    )
    assert pending == {visit for visit, want in expected.visits.items() if want["discharged"]}


def _fuzzed(rng: random.Random, valid: bytes) -> bytes:
    choice = rng.randrange(6)
    if choice == 0:  # truncated
        return valid[: rng.randrange(len(valid))]
    if choice == 1:  # random bytes, control characters included
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))).replace(FS_CR, b"")
    if choice == 2:  # flipped bytes
        data = bytearray(valid)
        for _ in range(rng.randrange(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data).replace(FS_CR, b"")
    if choice == 3:  # delimiters shuffled into the header
        return valid[:9] + bytes(rng.choice(b"|^~\\&\r\n") for _ in range(40)) + valid[49:]
    if choice == 4:  # a stray start byte inside the frame
        cut = rng.randrange(len(valid))
        return valid[:cut] + VT + valid[cut:]
    return b"MSH" + bytes(rng.randrange(32, 127) for _ in range(rng.randrange(300)))


def test_thousands_of_fuzzed_and_truncated_frames_never_stop_the_listener(listener):
    rng = random.Random(7)
    engine = Engine(listener.port, timeout=10)
    valid = adt("A01")
    answered = 0
    for n in range(3000):
        # No end byte inside (it would end the frame there, and the rest would be a frame of its own).
        data = _fuzzed(rng, valid).replace(b"\x1c", b"")
        engine.send_raw(VT + data + FS_CR)
        # Every frame is answered on the same connection (a stray start byte inside restarts the frame there).
        assert ack_fields(engine.read_ack())["code"] in ("AA", "AE", "AR"), data
        answered += 1
        if n % 500 == 0:
            assert listener.alive()
    assert listener.alive()
    assert answered == 3000
    # And a good message after all that is applied.
    fresh = Engine(listener.port)
    assert ack_fields(fresh.send(adt("A01", control_id="after-fuzz", visit="V-after")))["code"] == "AA"
