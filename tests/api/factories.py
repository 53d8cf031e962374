import factory
from django.contrib.auth.models import Group

from config.rest.permissions import AGENT_GROUP
from tests.tasks_app.factories import UserFactory


class StaffUserFactory(UserFactory):
    is_staff = True


class AgentUserFactory(UserFactory):
    """The interaction agent's service account."""

    class Meta:
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")

    @factory.post_generation
    def agent_group(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.groups.add(Group.objects.get_or_create(name=AGENT_GROUP)[0])
