"""Admin: a subscription's secret is shown once, on the page after it is created, and never in a form again."""

import pytest
from django.urls import reverse

from care_events.platform.webhooks.models import WebhookSubscription
from tests.api.factories import AdministratorFactory
from tests.helpers import force_admin_login

pytestmark = pytest.mark.django_db


def test_the_secret_is_shown_once_after_creating_a_subscription(client):
    force_admin_login(client, AdministratorFactory())
    form = {"name": "agent", "url": "https://agent.example.org/hooks", "events": "checkin/sent", "active": "on"}
    response = client.post(reverse("admin:care_events_webhooksubscription_add"), form, follow=True)
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret.startswith("whsec_")
    assert subscription.secret in response.content.decode()

    change = client.get(reverse("admin:care_events_webhooksubscription_change", args=[subscription.pk]))
    assert change.status_code == 200
    assert subscription.secret not in change.content.decode()
