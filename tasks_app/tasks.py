from celery import shared_task

from tasks_app.services.assignment import tasks_assign_waiting


@shared_task(name="tasks_app.assign_waiting")
def assign_waiting_tasks_task() -> None:
    tasks_assign_waiting()
