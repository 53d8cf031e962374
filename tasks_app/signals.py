"""Signals only record events, in the saving transaction (ARCHITECTURE.md: "Signals are the bridge")."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from care_events.events import emit
from tasks_app.models import EscalationTask


@receiver(post_save, sender=EscalationTask, dispatch_uid="tasks_app.task_created")
def record_task_created(sender, instance: EscalationTask, created: bool, **kwargs) -> None:
    if created:
        emit("task/created", {"task_id": instance.pk}, idempotency_key=f"task-created:{instance.pk}")
