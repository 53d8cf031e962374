"""A day of an interface engine's traffic, with what the product must hold once it is all applied: the expected
patients, episodes (discharged, cancelled, readmitted) and outcome of every message. Used by the 1,000-message
test and by bench/mllp.py."""

import datetime as dt
import random
from dataclasses import dataclass, field

from tests.intake.messages import adt

BASE = dt.datetime(2026, 10, 1, 8, 0)
DIALECTS = (("epic", "2.5.1"), ("cloverleaf", "2.3"), ("mirth", "2.4"))


def ts(day: float) -> str:
    return (BASE + dt.timedelta(days=day)).strftime("%Y%m%d%H%M%S")


@dataclass
class Expected:
    visits: dict[str, dict] = field(default_factory=dict)  # visit -> mrn, discharged, cancelled, readmission
    patients: dict[str, dict] = field(default_factory=dict)  # mrn -> phone, last_name, merged_into
    outcomes: dict[str, str] = field(default_factory=dict)  # control id -> APPLIED / ERROR / REJECTED
    discharges: int = 0  # patient/discharged events


def _patient_messages(i: int, expected: Expected, rng: random.Random) -> list[tuple[str, bytes]]:
    kind, mrn = i % 10, f"P{i:05d}"
    dialect, version = DIALECTS[i % 3]
    day = rng.uniform(0, 30)
    out: list[tuple[str, bytes]] = []

    def msg(event: str, **kwargs) -> None:
        control_id = f"C{i:05d}-{len(out)}"
        kwargs.setdefault("mrn", mrn)
        out.append((control_id, adt(event, control_id=control_id, dialect=dialect, version=version, **kwargs)))
        expected.outcomes[control_id] = "APPLIED"

    def visit(name: str, *, owner: str = mrn, discharged: bool = False, cancelled: bool = False) -> str:
        expected.visits[name] = {"mrn": owner, "discharged": discharged, "cancelled": cancelled, "readmission": None}
        return name

    expected.patients[mrn] = {"phone": "+12025550143", "last_name": "Moreno", "merged_into": None}
    v1, v2 = f"V{i:05d}-1", f"V{i:05d}-2"
    if kind in (0, 2, 3, 6):
        msg("A01", visit=v1, admitted=ts(day))
        msg("A03", visit=v1, admitted=ts(day), discharged=ts(day + 4))
        visit(v1, discharged=kind != 2)
        expected.discharges += 1
        if kind == 2:
            msg("A13", visit=v1, admitted=ts(day))
        if kind in (3, 6):
            later = day + (20 if kind == 3 else 60)
            msg("A01", visit=v2, admitted=ts(later))
            visit(v2)
            if kind == 3:
                expected.visits[v1]["readmission"] = v2
                msg("A03", visit=v2, admitted=ts(later), discharged=ts(later + 3))
                expected.visits[v2]["discharged"] = True
                expected.discharges += 1
    elif kind == 1:  # the discharge before its admission: held, then applied after it
        msg("A03", visit=v1, admitted=ts(day), discharged=ts(day + 4))
        msg("A01", visit=v1, admitted=ts(day))
        visit(v1, discharged=True)
        expected.discharges += 1
    elif kind == 4:
        msg("A01", visit=v1, admitted=ts(day))
        msg("A11", visit=v1, admitted=ts(day))
        visit(v1, cancelled=True)
    elif kind == 5:
        msg("A04", visit="")
        msg("A08", visit="", phone="(415) 555-0100")
        expected.patients[mrn]["phone"] = "+14155550100"
    elif kind == 7:  # two records of one person, merged
        old = f"OLD{i:05d}"
        expected.patients[old] = {"phone": "+12025550143", "last_name": "Moreno", "merged_into": mrn}
        msg("A01", mrn=old, visit=v1, admitted=ts(day))
        msg("A01", visit=v2, admitted=ts(day + 40))
        msg("A40", prior_mrn=old, visit="")
        visit(v1), visit(v2)
    elif kind == 8:  # an unknown facility (AE), then the corrected message under a new control id
        msg("A01", visit=v1, admitted=ts(day), facility="NOWHERE", sender="NOWHERE")
        expected.outcomes[out[-1][0]] = "ERROR"
        msg("A01", visit=v1, admitted=ts(day))
        visit(v1)
    elif kind == 9:  # a transfer (not taken: AR), then an admission and a name change
        msg("A02", visit=v1, admitted=ts(day))
        expected.outcomes[out[-1][0]] = "REJECTED"
        msg("A01", visit=v1, admitted=ts(day))
        msg("A08", visit=v1, last="Moreno-Diaz")
        expected.patients[mrn]["last_name"] = "Moreno-Diaz"
        visit(v1)
    return out


def feed(patients: int, *, duplicates: float = 0.15, seed: int = 21) -> tuple[list[tuple[str, bytes]], Expected]:
    """The messages in the order sent: each patient's in order, patients interleaved, some sent twice (the same
    control id, later). Returns them with what must hold after they are all applied."""
    rng = random.Random(seed)
    expected = Expected()
    queues = [_patient_messages(i, expected, rng) for i in range(patients)]
    stream: list[tuple[str, bytes]] = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        stream.append(queue.pop(0))
    for index in sorted(rng.sample(range(len(stream)), int(len(stream) * duplicates)), reverse=True):
        stream.insert(rng.randint(index + 1, len(stream)), stream[index])
    return stream, expected
