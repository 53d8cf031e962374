"""HL7 v2 ADT messages applied through intake.services.hl7_receive, as the MLLP listener calls it."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from care_events.models import Episode, OutreachAttempt, Patient
from care_events.platform.bus.dispatch import handler_run_execute
from care_events.platform.bus.models import Event, HandlerRun, Timer, TimerKind
from care_events.platform.bus.timers import timers_fire_due
from care_events.services.checkin import checkin_due_at
from intake.models import AdtMessage
from intake.services import adt_message_reapply, hl7_receive
from tests.helpers import drain
from tests.intake.messages import ack_fields, adt

pytestmark = pytest.mark.django_db


def receive(message: bytes) -> dict[str, str]:
    return ack_fields(hl7_receive(message))


@pytest.mark.parametrize("dialect,version", [("epic", "2.5.1"), ("cloverleaf", "2.3"), ("mirth", "2.4")])
def test_admit_then_discharge_emits_the_discharge_as_the_api_does(dialect, version):
    ack = receive(adt("A01", dialect=dialect, version=version))
    assert ack["code"] == "AA", ack
    patient = Patient.objects.get(mrn="MRN100", facility="GENERAL")
    assert (patient.first_name, patient.last_name, patient.phone) == ("Ada", "Moreno", "+12025550143")
    assert patient.date_of_birth == dt.date(1948, 5, 17) and patient.preferred_language == "en"
    assert patient.timezone == "America/New_York"  # ADT_DEFAULT_TIMEZONE: the hospital's
    episode = Episode.objects.get(visit_number="V100")
    assert episode.condition == "HF" and episode.facility == "GENERAL" and episode.discharged_at is None
    assert episode.admitted_at == dt.datetime(2026, 12, 1, 13, 30, tzinfo=dt.UTC)  # 08:30 New York

    ack = receive(adt("A03", dialect=dialect, version=version, discharged="20261205143000-0500"))
    assert ack["code"] == "AA"
    episode.refresh_from_db()
    assert episode.discharged_at == dt.datetime(2026, 12, 5, 19, 30, tzinfo=dt.UTC)
    assert episode.discharge_disposition == "01"
    assert Event.objects.filter(name="patient/discharged", data__episode_id=str(episode.pk)).count() == 1


def test_a_resend_is_applied_once_and_answered_the_same():
    message = adt("A01", control_id="CTRL-1")
    first, second = receive(message), receive(message)
    assert first == second and first["code"] == "AA" and first["control_id"] == "CTRL-1"
    assert Episode.objects.count() == 1 and AdtMessage.objects.count() == 1


def test_the_same_control_id_from_another_facility_is_another_message(settings):
    receive(adt("A01", control_id="CTRL-1"))
    receive(adt("A01", control_id="CTRL-1", sender="STMARY", facility="STMARY", authority="STMARY", visit="S1"))
    assert AdtMessage.objects.count() == 2 and Episode.objects.count() == 2


def test_escapes_z_segments_and_repeating_identifiers():
    message = adt("A01", dialect="mirth", last="Smith\\T\\Wesson", first="Ann\\S\\Marie")
    assert receive(message)["code"] == "AA"
    patient = Patient.objects.get()
    assert (patient.last_name, patient.first_name) == ("Smith&Wesson", "Ann^Marie")
    assert patient.mrn == "MRN100"  # the MR repetition of PID-3, not the SSN before it
    assert "ZPD|1|LOYALTY^GOLD" in AdtMessage.objects.get().raw


def test_a_declared_latin_1_message():
    assert receive(adt("A01", last="Nuñez", charset="8859/1"))["code"] == "AA"
    assert Patient.objects.get().last_name == "Nuñez"


def test_a_discharge_before_its_admission_is_held_and_applied_after_it():
    assert receive(adt("A03", discharged="20261205143000"))["code"] == "AA"
    held = AdtMessage.objects.get()
    assert held.status == "HELD" and not Episode.objects.exists()
    receive(adt("A01"))
    held.refresh_from_db()
    assert held.status == "APPLIED"
    episode = Episode.objects.get()
    assert episode.discharged_at is not None and held.episode == episode
    assert Event.objects.filter(name="patient/discharged").count() == 1


def test_cancel_discharge_cancels_the_pending_checkin(django_capture_on_commit_callbacks):
    receive(adt("A01"))
    receive(adt("A03", discharged="20261205143000"))
    episode = Episode.objects.get()
    from care_events.services.checkin import checkin_schedule

    checkin_schedule(episode_id=episode.pk)  # the discharge's handler, as a worker runs it
    assert Timer.objects.pending().filter(kind=TimerKind.CHECKIN_DUE, subject_id=episode.pk).exists()
    assert receive(adt("A13"))["code"] == "AA"
    episode.refresh_from_db()
    assert episode.discharged_at is None
    assert not Timer.objects.pending().filter(kind=TimerKind.CHECKIN_DUE, subject_id=episode.pk).exists()
    assert checkin_schedule(episode_id=episode.pk) is None  # a late handler schedules nothing


def test_the_discharge_after_a_cancelled_one_has_a_checkin_of_its_own():
    with time_machine.travel(dt.datetime(2026, 12, 5, 20, tzinfo=dt.UTC)):
        receive(adt("A01"))
        receive(adt("A03", discharged="20261205143000"))
        drain()  # the discharge's handler: its check-in, the next day
        episode = Episode.objects.get()
        first = Timer.objects.pending().get(kind=TimerKind.CHECKIN_DUE, subject_id=episode.pk)
        receive(adt("A13"))  # the patient stayed
        assert not Timer.objects.pending().filter(kind=TimerKind.CHECKIN_DUE, subject_id=episode.pk).exists()

    with time_machine.travel(dt.datetime(2026, 12, 8, 16, tzinfo=dt.UTC)):
        receive(adt("A03", discharged="20261208100000"))  # the real discharge, three days later
        receive(adt("A03", discharged="20261208100000"))  # and its resend
        drain()
    episode.refresh_from_db()
    assert episode.discharged_at == dt.datetime(2026, 12, 8, 15, tzinfo=dt.UTC)
    assert Event.objects.filter(name="patient/discharged", data__episode_id=str(episode.pk)).count() == 2
    timer = Timer.objects.pending().get(kind=TimerKind.CHECKIN_DUE, subject_id=episode.pk)
    assert timer.pk == first.pk and timer.due_at > first.due_at + dt.timedelta(days=2)
    assert timer.due_at == checkin_due_at(discharged_at=episode.discharged_at, tz_name=episode.patient.timezone)


def test_the_late_handler_of_a_cancelled_discharge_arms_the_next_one_once():
    with time_machine.travel(dt.datetime(2026, 12, 8, 16, tzinfo=dt.UTC)):
        receive(adt("A01"))
        receive(adt("A03", discharged="20261205143000"))
        receive(adt("A13"))
        receive(adt("A03", discharged="20261208100000"))
        cancelled, real = HandlerRun.objects.filter(handler="schedule-checkin").order_by("pk")
        # The cancelled discharge's handler runs only now, after the real discharge: it arms the real one's check-in.
        handler_run_execute(run_id=cancelled.pk)
    episode = Episode.objects.get()
    timer = Timer.objects.get(kind=TimerKind.CHECKIN_DUE, subject_id=episode.pk)
    assert timer.due_at == checkin_due_at(discharged_at=episode.discharged_at, tz_name=episode.patient.timezone)
    with time_machine.travel(timer.due_at + dt.timedelta(seconds=1)):
        assert timers_fire_due() == 1  # the check-in goes out
        handler_run_execute(run_id=real.pk)  # the real discharge's own handler, later still
    timer.refresh_from_db()
    # Armed for this discharge already, and fired: not armed again (one check-in per discharge).
    assert timer.fired_at is not None and timer.cancelled_at is None
    assert OutreachAttempt.objects.filter(plan__episode=episode).count() == 1
    assert Event.objects.filter(name="patient/discharged").count() == 2


def test_cancel_admit_cancels_an_undischarged_episode_only():
    receive(adt("A01"))
    assert receive(adt("A11"))["code"] == "AA"
    assert Episode.objects.get().cancelled_at is not None
    receive(adt("A01", visit="V200"))
    receive(adt("A03", visit="V200", discharged="20261205143000"))
    ack = receive(adt("A11", visit="V200"))
    assert ack["code"] == "AE" and "discharged" in ack["text"]
    assert Episode.objects.get(visit_number="V200").cancelled_at is None


def test_update_changes_demographics():
    receive(adt("A01"))
    receive(adt("A08", phone="+1 (415) 555-0100", last="Moreno-Diaz", language="spa"))
    patient = Patient.objects.get()
    assert (patient.phone, patient.last_name, patient.preferred_language) == ("+14155550100", "Moreno-Diaz", "es")
    assert Episode.objects.count() == 1


def test_register_creates_the_patient_without_an_episode():
    assert receive(adt("A04"))["code"] == "AA"
    assert Patient.objects.count() == 1 and not Episode.objects.exists()


def test_merge_moves_the_episodes_and_keeps_both_records():
    receive(adt("A01", mrn="OLD1", visit="V1"))
    receive(adt("A01", mrn="NEW1", visit="V2", admitted="20261203083000"))
    assert receive(adt("A40", mrn="NEW1", prior_mrn="OLD1"))["code"] == "AA"
    old, new = Patient.objects.get(mrn="OLD1"), Patient.objects.get(mrn="NEW1")
    assert old.merged_into == new
    assert set(new.episodes.values_list("visit_number", flat=True)) == {"V1", "V2"}
    # A later message naming the old MRN reaches the survivor.
    receive(adt("A08", mrn="OLD1", last="Renamed"))
    new.refresh_from_db()
    assert new.last_name == "Renamed"


def test_a_new_admission_within_30_days_marks_the_earlier_episode_readmitted():
    receive(adt("A01", visit="V1", admitted="20261101080000"))
    receive(adt("A03", visit="V1", discharged="20261105080000"))
    receive(adt("A01", visit="V2", admitted="20261201080000"))  # 26 days later
    first, second = Episode.objects.get(visit_number="V1"), Episode.objects.get(visit_number="V2")
    assert first.readmission == second and second.readmission is None
    receive(adt("A03", visit="V2", discharged="20261203080000"))
    receive(adt("A01", visit="V3", admitted="20270110080000"))  # 38 days later: not a readmission
    assert Episode.objects.get(visit_number="V2").readmission is None


@pytest.mark.parametrize(
    "kwargs,location,code",
    [
        ({"mrn": ""}, "PID-3", "101"),
        ({"facility": "NOWHERE", "sender": "NOWHERE"}, "PV1-3", "103"),
        ({"admitted": "2026-12-01"}, "PV1-44", "102"),
        ({"dob": "19481"}, "PID-7", "102"),
        ({"phone": ""}, "PID-13", "101"),
        ({"phone": "12"}, "PID-13", "102"),
    ],
)
def test_what_cannot_be_applied_is_answered_ae_naming_the_field_and_kept(kwargs, location, code):
    ack = receive(adt("A01", **kwargs))
    assert (ack["code"], ack["err_location"].replace("^1^", "-"), ack["err_code"]) == ("AE", location, code)
    row = AdtMessage.objects.get()
    assert row.status == "ERROR" and row.error_location == location and row.error
    assert not Patient.objects.exists() and not Episode.objects.exists()


def test_an_operator_fixes_the_facility_list_and_reapplies(settings):
    ack = receive(adt("A01", facility="EAST", sender="EAST"))
    assert ack["code"] == "AE"
    settings.CARE_FACILITIES = {**settings.CARE_FACILITIES, "EAST": "East Campus"}
    row = adt_message_reapply(message_id=AdtMessage.objects.get().pk)
    assert row.status == "APPLIED" and row.attempts == 2
    assert Episode.objects.get().facility == "EAST"
    # The resend after the fix answers what the row says now.
    assert receive(adt("A01", facility="EAST", sender="EAST", control_id=row.control_id))["code"] == "AA"


@pytest.mark.parametrize(
    "message,text,code",
    [
        (adt("A02"), "Unsupported message type", "200"),
        (adt("A01", version="2.7"), "Unsupported HL7 version", "203"),
        (b"PID|1||x", "MSH", "102"),
        (b"MSH|^~\\&|A|B|C|D|2026||ADT^A01|X|P|2.5.1||||||KLINGON\r", "character set", "102"),
        (b"MSH|^~\\&|A|B|C|D|2026||ADT^A01|X|P|2.5.1\rPID|1||\x00\r", "NUL", "102"),
    ],
)
def test_what_is_not_a_message_we_take_is_answered_ar(message, text, code):
    ack = receive(message)
    assert (ack["code"], ack["err_code"]) == ("AR", code) and text in ack["text"]


def test_a_discharge_of_an_expired_patient_schedules_no_checkin():
    receive(adt("A01"))
    receive(adt("A03", discharged="20261205143000", disposition="20"))
    from care_events.services.checkin import checkin_schedule

    assert checkin_schedule(episode_id=Episode.objects.get().pk) is None
    assert timezone.now()  # the discharge is recorded all the same
    assert Episode.objects.get().discharged_at is not None


def test_the_hospitals_time_zone_reads_times_without_an_offset_and_is_the_new_patients(settings):
    settings.ADT_DEFAULT_TIMEZONE = "America/Chicago"
    receive(adt("A01", admitted="20261201083000"))
    episode = Episode.objects.select_related("patient").get()
    assert episode.admitted_at == dt.datetime(2026, 12, 1, 14, 30, tzinfo=dt.UTC)  # 08:30 in Chicago
    assert episode.patient.timezone == "America/Chicago"
