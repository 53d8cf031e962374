"""Reads of the bus's rows."""

import datetime as dt

from django.db.models import QuerySet

from care_events.platform.bus.models import HandlerRun, RunStatus

# What a replay may select. SUCCEEDED is not among them: a run that succeeded has had its effects, and running its
# handler again is exactly what a replay must never do.
REPLAYABLE_STATUSES = (RunStatus.FAILED, RunStatus.PENDING)


def handler_run_list_for_replay(
    *, event_name: str, status: str, created_from: dt.datetime, created_until: dt.datetime
) -> QuerySet[HandlerRun]:
    """The runs of `event_name` events in `status`, created in [created_from, created_until), oldest first: the
    work an outage left undone in that window (manage.py replay, and admin's filtered Handler runs list)."""
    if status not in REPLAYABLE_STATUSES:
        raise ValueError(f"Only {', '.join(REPLAYABLE_STATUSES)} runs can be replayed, not {status}.")
    return (
        HandlerRun.objects.filter(
            event__name=event_name, status=status, created_at__gte=created_from, created_at__lt=created_until
        )
        .select_related("event")
        .order_by("created_at", "pk")
    )
