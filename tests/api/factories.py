import factory
from django.contrib.auth.models import Permission

from care_events.platform.roles import ADMINISTRATOR, AGENT, CHARGE_NURSE, HOSPITAL_FEED, role_group
from tests.tasks_app.factories import NurseFactory, UserFactory


class StaffUserFactory(UserFactory):
    """A staff account (admin access) with no role: it may open admin and nothing else."""

    is_staff = True


class AgentUserFactory(UserFactory):
    """The interaction agent's service account: a user in the Agent group."""

    class Meta:
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")

    @factory.post_generation
    def agent_group(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.groups.add(role_group(AGENT))


class FeedUserFactory(UserFactory):
    """The hospital feed's service account: a user in the Hospital feed group."""

    class Meta:
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"feed{n}")

    @factory.post_generation
    def feed_group(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.groups.add(role_group(HOSPITAL_FEED))


class ChargeNurseFactory(NurseFactory):
    """A supervisor: a nurse (in the Nurse group) who is also in the Charge nurse group."""

    is_supervisor = True

    @factory.post_generation
    def charge_nurse_group(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.user.groups.add(role_group(CHARGE_NURSE))


class AdministratorFactory(UserFactory):
    """Runs the service: a staff user (admin access) in the Administrator group, with no nurse profile."""

    class Meta:
        skip_postgeneration_save = True

    is_staff = True

    @factory.post_generation
    def administrator_group(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.groups.add(role_group(ADMINISTRATOR))


class ShiftStaffUserFactory(UserFactory):
    """A staff account holding only the shift permissions (tasks_app.*_nurseshift): admin access to the roster,
    and nothing of the API."""

    class Meta:
        skip_postgeneration_save = True

    is_staff = True

    @factory.post_generation
    def shift_permissions(self, create: bool, extracted, **kwargs) -> None:
        if create:
            shifts = Permission.objects.filter(content_type__app_label="tasks_app", codename__endswith="_nurseshift")
            self.user_permissions.set(shifts)
