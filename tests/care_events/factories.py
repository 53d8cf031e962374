import datetime as dt

import factory
from django.utils import timezone

from care_events.choices import Severity
from care_events.models import (
    AgentInteraction,
    Condition,
    Episode,
    InteractionResponse,
    OutreachAttempt,
    OutreachPlan,
    Patient,
)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=45, maximum_age=95)
    # 202-555-01xx: valid US numbers by libphonenumber's metadata, reserved for fiction.
    phone = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")
    timezone = "America/New_York"


class EpisodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Episode

    patient = factory.SubFactory(PatientFactory)
    admitted_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=5))
    discharged_at = factory.LazyAttribute(lambda o: o.admitted_at + dt.timedelta(days=4))
    condition = Condition.HF
    facility = "GENERAL"  # a code of CARE_FACILITIES (its default list)


class OutreachPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutreachPlan

    episode = factory.SubFactory(EpisodeFactory)


class OutreachAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutreachAttempt

    plan = factory.SubFactory(OutreachPlanFactory)
    attempt_number = factory.Sequence(lambda n: n + 1)
    scheduled_at = factory.LazyFunction(timezone.now)


class AgentInteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentInteraction

    episode = factory.SubFactory(EpisodeFactory)


class InteractionResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InteractionResponse

    interaction = factory.SubFactory(AgentInteractionFactory)
    text = "I feel a bit more short of breath than yesterday."
    severity = Severity.LOW
