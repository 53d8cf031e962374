"""What a nurse writes on a task besides moving it: notes and call attempts while it is open (the task's timeline shows
them), and the structured outcomes a task is resolved with (`task_resolve(outcome=...)`)."""

import datetime as dt

from django.contrib.auth.models import User
from django.db import transaction

from care_events.platform.errors import ApplicationError
from tasks_app.models import CallOutcome, EscalationTask, TaskNote
from tasks_app.services.tasks import TaskStateError


@transaction.atomic
def task_note_add(
    *,
    task: EscalationTask,
    author: User,
    text: str = "",
    call_outcome: str = "",
    retry_at: dt.datetime | None = None,
) -> TaskNote:
    """A note, or a call attempt (`call_outcome`, with when she will `retry_at`), on an open task: it stays open.

    The task row is locked as every move locks it, so a note cannot land on a task another transaction is closing:
    the close waits for the note, or the note sees the task closed and is refused (409)."""
    locked = EscalationTask.objects.select_for_update().get(pk=task.pk)
    if not locked.is_open:
        raise TaskStateError(f"The task is {locked.status.lower()} already: notes are added to open tasks only.")
    text = text.strip()
    if call_outcome and call_outcome not in CallOutcome.values:
        raise ApplicationError("Choose one of the call outcomes.", fields={"call_outcome": ["Not a call outcome."]})
    if not (text or call_outcome):
        raise ApplicationError("Write a note or choose how the call went.", fields={"text": ["Write a note."]})
    if retry_at is not None and not call_outcome:
        raise ApplicationError(
            "A retry time belongs to a call attempt.", fields={"retry_at": ["Choose how the call went."]}
        )
    return TaskNote.objects.create(task=locked, author=author, text=text, call_outcome=call_outcome, retry_at=retry_at)
