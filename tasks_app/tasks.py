from celery import shared_task

from tasks_app.services import tasks_assign_waiting


@shared_task(acks_late=True, reject_on_worker_lost=True)
def assign_waiting_tasks_task() -> None:
    tasks_assign_waiting()
