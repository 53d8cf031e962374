import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from tasks_app.models import EscalationTask, NurseShift
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory, NurseShiftFactory

pytestmark = pytest.mark.django_db


def test_a_shift_must_end_after_it_starts():
    start = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        NurseShiftFactory(starts_at=start, ends_at=start)


def test_an_inverted_shift_is_a_clear_validation_error():
    start = timezone.now()
    shift = NurseShiftFactory.build(nurse=NurseFactory(), starts_at=start, ends_at=start - dt.timedelta(hours=1))
    with pytest.raises(ValidationError) as excinfo:
        shift.full_clean()
    assert "A shift must end after it starts." in excinfo.value.messages


def test_a_nurses_shifts_never_overlap_in_the_database():
    shift = NurseShiftFactory()
    with pytest.raises(IntegrityError, match="shift_no_overlap_per_nurse"), transaction.atomic():
        NurseShiftFactory(nurse=shift.nurse, starts_at=shift.ends_at - dt.timedelta(minutes=1))


def test_overlap_is_reported_by_full_clean_naming_the_clashing_shift_in_the_care_team_zone():
    monday = dt.datetime(2026, 12, 7, 7, 0, tzinfo=ZoneInfo("America/New_York"))
    shift = NurseShiftFactory(
        nurse__user__first_name="Mary",
        nurse__user__last_name="Seacole",
        starts_at=monday,
        ends_at=monday.replace(hour=19),
    )
    other = NurseShift(nurse=shift.nurse, starts_at=monday.replace(hour=18), ends_at=monday.replace(hour=23))
    with pytest.raises(ValidationError) as excinfo:
        other.full_clean()
    assert excinfo.value.messages == [
        "This shift overlaps Mary Seacole Mon 7 Dec 07:00-19:00 America/New_York. A nurse works one shift at a time: "
        "change one of them."
    ]


def test_back_to_back_shifts_and_other_nurses_shifts_are_allowed():
    shift = NurseShiftFactory()
    NurseShiftFactory(nurse=shift.nurse, starts_at=shift.ends_at)
    NurseShiftFactory(starts_at=shift.starts_at, ends_at=shift.ends_at)
    assert NurseShift.objects.count() == 3


def test_a_nurse_phone_must_be_e164():
    with pytest.raises(ValidationError) as excinfo:
        NurseFactory.build(phone="555-0100").full_clean(exclude=["user"])
    assert "phone" in excinfo.value.message_dict


def test_an_assigned_task_needs_an_assignee():
    with pytest.raises(IntegrityError, match="task_assigned_has_assignee"), transaction.atomic():
        EscalationTaskFactory(status=EscalationTask.Status.ASSIGNED)


def test_an_assigned_task_with_assignee_is_fine():
    task = EscalationTaskFactory(
        status=EscalationTask.Status.ASSIGNED, assigned_to=NurseFactory(), assigned_at=timezone.now()
    )
    assert task.is_open


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("status", "DONE", "task_status_valid"),
        ("severity", "SEVERE", "task_severity_valid"),
        ("priority", "ASAP", "task_priority_valid"),
        ("action_type", "PRAY", "task_action_type_valid"),
        ("sla_minutes", 0, "task_sla_minutes_positive"),
    ],
)
def test_invalid_task_values_are_refused_by_the_database(field, value, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        EscalationTaskFactory(**{field: value})


def test_resolved_and_cancelled_tasks_need_their_timestamps():
    with pytest.raises(IntegrityError, match="task_resolved_has_timestamp"), transaction.atomic():
        EscalationTaskFactory(status=EscalationTask.Status.RESOLVED)
    with pytest.raises(IntegrityError, match="task_cancelled_has_timestamp"), transaction.atomic():
        EscalationTaskFactory(status=EscalationTask.Status.CANCELLED)


def test_the_warning_comes_before_the_breach():
    now = timezone.now()
    with pytest.raises(IntegrityError, match="task_warning_before_breach"), transaction.atomic():
        EscalationTaskFactory(sla_warning_at=now, sla_breach_at=now - dt.timedelta(minutes=1))
