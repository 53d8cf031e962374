"""Signals only record events, in the saving transaction (docs/architecture.md#signals)."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from care_events.platform.bus.dispatch import acting_user_id, emit
from tasks_app.models import EscalationTask


@receiver(post_save, sender=EscalationTask, dispatch_uid="tasks_app.task_created")
def record_task_created(sender: type[EscalationTask], instance: EscalationTask, created: bool, **kwargs: Any) -> None:
    if created:
        emit(
            "task/created",
            {"task_id": instance.pk},
            once_for=(instance.pk,),
            actor=acting_user_id(),
            rows={"task_id": instance},  # for its inline handler (the SLA timers): not read again
        )
