import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from care_events.choices import Severity
from care_events.platform.roles import NURSE, role_group
from tasks_app.models import ActionType, EscalationTask, Nurse, NurseShift
from tests.care_events.factories import AgentInteractionFactory, EpisodeFactory, InteractionResponseFactory


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@hospital.example")
    password = factory.django.Password("correct-horse-battery")


class NurseFactory(factory.django.DjangoModelFactory):
    """A nurse whose login is in the Nurse group, as admin makes her (tasks_app/services/nurses.py)."""

    class Meta:
        model = Nurse
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    phone = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    email = factory.LazyAttribute(lambda nurse: nurse.user.email)

    @factory.post_generation
    def nurse_group(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.user.groups.add(role_group(NURSE))


class NurseShiftFactory(factory.django.DjangoModelFactory):
    """By default a shift that is running now."""

    class Meta:
        model = NurseShift

    nurse = factory.SubFactory(NurseFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    ends_at = factory.LazyAttribute(lambda shift: shift.starts_at + dt.timedelta(hours=8))


class EscalationTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EscalationTask

    episode = factory.SubFactory(EpisodeFactory)
    patient = factory.LazyAttribute(lambda task: task.episode.patient)
    severity = Severity.HIGH
    reason_codes = factory.LazyFunction(lambda: ["HF_BREATHING_WORSE"])
    action_type = ActionType.NURSE_CALLBACK_2H
    sla_minutes = 120
    sla_warning_at = factory.LazyAttribute(lambda t: timezone.now() + dt.timedelta(minutes=t.sla_minutes * 0.75))
    sla_breach_at = factory.LazyAttribute(lambda t: timezone.now() + dt.timedelta(minutes=t.sla_minutes))


PASSWORD = "correct-horse-battery"  # UserFactory's


def nurse_with_login(*, role: str = NURSE, on_shift: bool = True, **nurse_fields) -> Nurse:
    """A nurse who logs in to admin (staff flag, UserFactory's password) with a role (care_events/platform/roles.py), on
    shift now unless told otherwise."""
    nurse = NurseShiftFactory(**{f"nurse__{k}": v for k, v in nurse_fields.items()}).nurse if on_shift else None
    nurse = nurse or NurseFactory(**nurse_fields)
    nurse.user.is_staff = True
    nurse.user.save(update_fields=["is_staff"])
    nurse.user.groups.add(role_group(role))
    return nurse


def assigned_task(
    nurse: Nurse | None, *, minutes_to_breach: int = 90, first_name: str = "Ada", last_name: str = "Moreno", **fields
) -> EscalationTask:
    """A task assigned to `nurse` (None: an OPEN task nobody holds), caused by a HIGH answer, with another answer of
    the same conversation."""
    interaction = AgentInteractionFactory(
        episode__patient__first_name=first_name,
        episode__patient__last_name=last_name,
        summary="Short of breath since last night; ankles swollen.",
    )
    InteractionResponseFactory(
        interaction=interaction, question="How did you sleep?", text="I slept badly.", severity="LOW"
    )
    cause = InteractionResponseFactory(
        interaction=interaction,
        question="Any swelling in your legs or ankles?",
        text="My ankles are swollen",
        severity="HIGH",
        reason_codes=["HF_EDEMA"],
    )
    now = timezone.now()
    return EscalationTaskFactory(
        episode=interaction.episode,
        interaction=interaction,
        source_key=f"response:{cause.pk}",
        reason_codes=["HF_EDEMA"],
        status=fields.pop("status", EscalationTask.Status.ASSIGNED if nurse else EscalationTask.Status.OPEN),
        assigned_to=nurse,
        assigned_at=now if nurse else None,
        sla_warning_at=now + dt.timedelta(minutes=minutes_to_breach) - dt.timedelta(minutes=30),
        sla_breach_at=now + dt.timedelta(minutes=minutes_to_breach),
        **fields,
    )
