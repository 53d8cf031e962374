"""A nurse in admin sees the patients (and their episodes and interactions) of her own tasks only, as in the API; a
charge nurse sees them all."""

import pytest
from django.urls import reverse

from care_events.platform.roles import CHARGE_NURSE
from tests.care_events.factories import AgentInteractionFactory
from tests.helpers import admin_login
from tests.tasks_app.factories import PASSWORD, EscalationTaskFactory, nurse_with_login

pytestmark = pytest.mark.django_db

PAGES = [
    ("admin:care_events_patient_changelist", lambda i: i.episode.patient_id),
    ("admin:care_events_episode_changelist", lambda i: i.episode_id),
    ("admin:care_events_agentinteraction_changelist", lambda i: i.pk),
]


@pytest.fixture
def two_patients():
    nurse = nurse_with_login()
    mine, theirs = AgentInteractionFactory(), AgentInteractionFactory()
    EscalationTaskFactory(interaction=mine, episode=mine.episode, patient=mine.episode.patient, assigned_to=nurse)
    return nurse, mine, theirs


@pytest.mark.parametrize(("page", "row_id"), PAGES)
def test_a_nurse_lists_only_the_patients_of_her_tasks(client, two_patients, page, row_id):
    nurse, mine, theirs = two_patients
    admin_login(client, nurse.user, PASSWORD)
    listing = client.get(reverse(page)).content.decode()
    assert str(row_id(mine)) in listing
    assert str(row_id(theirs)) not in listing


def test_another_patients_page_is_not_there_for_her(client, two_patients):
    nurse, _, theirs = two_patients
    admin_login(client, nurse.user, PASSWORD)
    response = client.get(reverse("admin:care_events_patient_change", args=[theirs.episode.patient_id]))
    assert response.status_code == 302  # admin's answer to an object outside the queryset: "does not exist"


def test_a_charge_nurse_lists_every_patient(client, two_patients):
    _, mine, theirs = two_patients
    admin_login(client, nurse_with_login(role=CHARGE_NURSE).user, PASSWORD)
    listing = client.get(reverse("admin:care_events_patient_changelist")).content.decode()
    assert str(mine.episode.patient_id) in listing and str(theirs.episode.patient_id) in listing
