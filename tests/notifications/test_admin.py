"""Admin for notification logs: filters, the failure chain, re-sending a failed message as a new row."""

import pytest
from django.urls import reverse

from notifications.models import NotificationLog
from tests.notifications.factories import NotificationLogFactory
from tests.tasks_app.factories import EscalationTaskFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:notifications_notificationlog_changelist")


def test_a_failed_notification_is_resent_as_a_new_row_linked_to_it(admin_client):
    failed = NotificationLogFactory(status="FAILED", error_code="twilio:30006", task=EscalationTaskFactory())
    sent = NotificationLogFactory(status="SENT")

    response = admin_client.post(
        CHANGELIST, {"action": "resend", "_selected_action": [failed.pk, sent.pk]}, follow=True
    )

    assert "1 failed notification(s) sent again as new rows." in response.content.decode()
    again = NotificationLog.objects.get(replaces=failed)
    assert (again.channel, again.body, again.recipient_nurse_id) == (
        failed.channel,
        failed.body,
        failed.recipient_nurse_id,
    )
    admin_client.post(CHANGELIST, {"action": "resend", "_selected_action": [failed.pk]})
    assert NotificationLog.objects.filter(replaces=failed).count() == 1  # re-sending again finds the row

    page = admin_client.get(reverse("admin:notifications_notificationlog_change", args=[failed.pk])).content.decode()
    assert "Alert chain" in page and f"/admin/notifications/notificationlog/{again.pk}/change/" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [({"status__exact": "FAILED"}, 1), ({"channel__exact": "VOICE"}, 1), ({"type__exact": "SLA_BREACH"}, 1)],
)
def test_logs_filter_by_status_channel_and_type(admin_client, query, expected):
    NotificationLogFactory(status="FAILED", channel="VOICE", type="SLA_BREACH")
    NotificationLogFactory()
    assert len(admin_client.get(CHANGELIST, query).context["cl"].result_list) == expected
