import pytest
from django.db import IntegrityError, transaction

from notifications.models import NotificationLog
from tests.care_events.factories import PatientFactory
from tests.notifications.factories import NotificationLogFactory

pytestmark = pytest.mark.django_db


def test_the_factory_writes_a_pending_log_with_timestamps():
    log = NotificationLogFactory()
    log.refresh_from_db()
    assert log.status == "PENDING"
    assert log.created_at is not None and log.updated_at is not None


def test_updated_at_moves_on_save():
    log = NotificationLogFactory()
    before = log.updated_at
    log.status = "SENT"
    log.save()
    assert log.updated_at > before


def test_the_dedupe_key_is_unique():
    NotificationLogFactory(dedupe_key="task:1:assigned")
    with pytest.raises(IntegrityError), transaction.atomic():
        NotificationLogFactory(dedupe_key="task:1:assigned")
    assert NotificationLog.objects.filter(dedupe_key="task:1:assigned").count() == 1


def test_exactly_one_recipient():
    with pytest.raises(IntegrityError, match="notif_exactly_one_recipient"), transaction.atomic():
        NotificationLogFactory(recipient_patient=PatientFactory())
    with pytest.raises(IntegrityError, match="notif_exactly_one_recipient"), transaction.atomic():
        NotificationLogFactory(recipient_nurse=None)


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("type", "SPAM", "notif_type_valid"),
        ("channel", "FAX", "notif_channel_valid"),
        ("status", "LOST", "notif_status_valid"),
    ],
)
def test_enum_values_are_enforced_by_the_database(field, value, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        NotificationLogFactory(**{field: value})


def test_a_patient_can_be_the_recipient():
    log = NotificationLogFactory(recipient_nurse=None, recipient_patient=PatientFactory(), type="CHECKIN")
    assert log.recipient_patient_id is not None
