from celery import shared_task
from django.contrib.auth import get_user_model

from tasks_app.services.assignment import tasks_assign_waiting
from tasks_app.services.handover import tasks_hand_over_sweep


@shared_task(name="tasks_app.assign_waiting")
def assign_waiting_tasks_task() -> None:
    tasks_assign_waiting()


@shared_task(name="tasks_app.hand_over_sweep")
def hand_over_sweep_task(nurse_id: int | None = None, actor_user_id: int | None = None) -> None:
    """Beat's sweep (no arguments), or one nurse's tasks at once when she is deactivated (with who did it)."""
    actor = get_user_model().objects.filter(pk=actor_user_id).first() if actor_user_id else None
    tasks_hand_over_sweep(nurse_id=nurse_id, actor=actor)
