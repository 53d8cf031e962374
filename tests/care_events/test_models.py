import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from care_events.models import AgentInteraction, Episode, OutreachAttempt, OutreachPlan, Patient
from tests.care_events.factories import (
    AgentInteractionFactory,
    EpisodeFactory,
    InteractionResponseFactory,
    OutreachAttemptFactory,
    OutreachPlanFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db


def test_every_factory_writes_a_row():
    InteractionResponseFactory()
    OutreachAttemptFactory()
    assert Patient.objects.count() == 2
    assert Episode.objects.count() == 2
    assert AgentInteraction.objects.count() == 1
    assert OutreachPlan.objects.count() == 1
    assert OutreachAttempt.objects.count() == 1


@pytest.mark.parametrize("phone", ["4155550123", "+1 415 555 0123", "+1415555", "+15555550100", "", "+0123456789"])
def test_a_bad_phone_number_is_a_clear_validation_error(phone):
    patient = PatientFactory.build(phone=phone)
    with pytest.raises(ValidationError) as excinfo:
        patient.full_clean()
    assert "phone" in excinfo.value.message_dict
    assert "E.164" in excinfo.value.message_dict["phone"][0] or phone == ""


def test_a_valid_e164_number_passes_validation():
    PatientFactory.build(phone="+14155550123").full_clean()


def test_the_database_refuses_a_phone_number_that_is_not_e164():
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientFactory(phone="(415) 555-0123")


def test_an_unknown_timezone_is_a_validation_error():
    with pytest.raises(ValidationError) as excinfo:
        PatientFactory.build(timezone="Mars/Olympus").full_clean()
    assert "timezone" in excinfo.value.message_dict


def test_discharge_before_admission_is_refused():
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        EpisodeFactory(admitted_at=now, discharged_at=now - dt.timedelta(hours=1))


def test_an_unknown_condition_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        EpisodeFactory(condition="FLU")


def test_one_open_outreach_plan_per_episode():
    plan = OutreachPlanFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        OutreachPlanFactory(episode=plan.episode)
    plan.status = OutreachPlan.Status.COMPLETED
    plan.save()
    assert OutreachPlanFactory(episode=plan.episode).status == OutreachPlan.Status.ACTIVE


def test_attempt_numbers_are_unique_within_a_plan():
    attempt = OutreachAttemptFactory(attempt_number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutreachAttemptFactory(plan=attempt.plan, attempt_number=1)


def test_an_invalid_interaction_status_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        AgentInteractionFactory(status="DONE")


def test_a_completed_interaction_needs_its_completion_time():
    with pytest.raises(IntegrityError), transaction.atomic():
        AgentInteractionFactory(status=AgentInteraction.Status.COMPLETED, completed_at=None)


def test_an_invalid_response_severity_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        InteractionResponseFactory(severity="SEVERE")


def test_str_of_a_patient_carries_no_phi():
    patient = PatientFactory(first_name="Ada", last_name="Lovelace")
    assert "Ada" not in str(patient) and "Lovelace" not in str(patient)
