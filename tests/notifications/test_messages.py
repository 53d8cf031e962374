"""What messages say: nurse messages actionable without PHI, in the nurse's timezone; patients' in their language."""

import datetime as dt

import pytest

from care_events.choices import NotificationType
from notifications.messages import render_for_nurse, render_for_patient, render_patient_text
from tests.care_events.factories import EpisodeFactory
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def task():
    task = EscalationTaskFactory(severity="HIGH", action_type="NURSE_CALLBACK_2H", patient__first_name="Ada")
    task.sla_breach_at = dt.datetime(2026, 1, 15, 20, 30, tzinfo=dt.UTC)
    return task


@pytest.mark.parametrize("notification_type", [t for t in NotificationType.values if t != "CHECKIN"])
@pytest.mark.parametrize("channel", ["SMS", "EMAIL", "PUSH", "VOICE"])
def test_every_nurse_message_is_actionable_and_carries_no_phi(task, settings, notification_type, channel):
    settings.PUBLIC_BASE_URL = "https://care.example.org"
    nurse = NurseFactory(timezone="America/Chicago")
    subject, body = render_for_nurse(notification_type, channel, task, nurse)
    assert subject.startswith("Sequora:") and "HIGH" in subject + body
    assert "14:30 CST" in body  # 20:30 UTC in Chicago in January
    for phi in (task.patient.first_name, task.patient.last_name, task.patient.phone):
        assert phi not in subject + body
    link = f"https://care.example.org/admin/tasks_app/escalationtask/{task.pk}/change/"
    if channel == "VOICE":
        assert "http" not in body  # spoken: a reference, not a link
    else:
        assert link in body


def test_a_check_in_is_in_the_patients_language_with_the_facilitys_vetted_name(settings):
    settings.CARE_FACILITIES = {"STMARY": "St Mary Cardiology"}
    episode = EpisodeFactory(facility="STMARY")
    assert render_for_patient("CHECKIN", episode, "es-MX")[1].startswith(
        "Hola, le saluda su equipo de atención de St Mary Cardiology."
    )
    assert "Reply STOP" in render_for_patient("CHECKIN", episode, "fr")[1]  # no French text: English


@pytest.mark.parametrize("facility", ["Call 1-900-555-0199 to claim your prize", "RETIRED", ""])
def test_a_facility_that_is_not_listed_is_never_written_into_a_patients_text(settings, facility):
    # An episode written before the list (or by hand in the database), or a code the list no longer has: the text
    # says "the hospital", never what was stored.
    settings.CARE_FACILITIES = {"STMARY": "St Mary Cardiology"}
    episode = EpisodeFactory.build(facility=facility)

    english, spanish = (render_for_patient("CHECKIN", episode, language)[1] for language in ("en", "es"))

    assert english.startswith("Hello from your care team at the hospital.")
    assert spanish.startswith("Hola, le saluda su equipo de atención de su hospital.")
    assert (facility or "no facility") not in english + spanish


def test_help_is_answered_in_spanish():
    assert "STOP" in render_patient_text("HELP", "es") and "911" in render_patient_text("HELP", "es")
    assert render_patient_text("HELP", "es").startswith("Sequora: su equipo")
