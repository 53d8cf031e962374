import uuid

import factory

from care_events.choices import Channel, NotificationType
from notifications.models import NotificationLog
from tests.tasks_app.factories import EscalationTaskFactory, NurseFactory


class NotificationLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationLog

    id = factory.LazyFunction(uuid.uuid4)
    alert_id = factory.SelfAttribute("id")  # its own alert, as a first row is
    type = NotificationType.TASK_ASSIGNED
    channel = Channel.SMS
    recipient_nurse = factory.SubFactory(NurseFactory)
    task = factory.SubFactory(EscalationTaskFactory)
    episode = factory.LazyAttribute(lambda log: log.task.episode)
    patient = factory.LazyAttribute(lambda log: log.task.patient)
    body = "A new HIGH task is assigned to you."
    dedupe_key = factory.Sequence(lambda n: f"test:{n}")
