from celery import shared_task

from tasks_app.services.assignment import tasks_assign_waiting


@shared_task
def assign_waiting_tasks_task() -> None:
    tasks_assign_waiting()
