"""Signals only record events, in the saving transaction (docs/architecture.md#signals)."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from care_events.models import AgentInteraction, InteractionResponse
from care_events.platform.bus.dispatch import acting_user_id, emit


@receiver(post_save, sender=InteractionResponse, dispatch_uid="care_events.response_received")
def record_response_received(
    sender: type[InteractionResponse], instance: InteractionResponse, created: bool, **kwargs: Any
) -> None:
    if created:
        emit(
            "interaction/response_received",
            {
                "interaction_id": instance.interaction_id,
                "response_id": instance.pk,
                "severity": instance.severity,
            },
            once_for=(instance.pk,),
            actor=acting_user_id(),
        )


@receiver(post_save, sender=AgentInteraction, dispatch_uid="care_events.checkin_completed")
def record_checkin_completed(sender: type[AgentInteraction], instance: AgentInteraction, **kwargs: Any) -> None:
    # Keyed by the interaction: a later save of a completed interaction finds the first event and emits nothing.
    if instance.status == AgentInteraction.Status.COMPLETED:
        emit(
            "checkin/completed",
            {"episode_id": instance.episode_id, "interaction_id": instance.pk},
            once_for=(instance.pk,),
            actor=acting_user_id(),
        )
