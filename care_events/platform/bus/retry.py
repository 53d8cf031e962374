"""The bus's one claim-and-retry mechanism, used by handler runs, timers and message deliveries alike.

- `claim` locks one row that is still to do, and skips it when another worker holds it;
- a `RetryPolicy` per kind of work says how many attempts it gets and how long to wait between them, and
  `failure_record` writes a failed attempt on its row by that policy: its attempts, its error, its next attempt or
  its final failure;
- `relay_take` is how every relay (and the timers' horizon job) takes its rows: locked, oldest first, and marked so
  that a second relay running at the same moment takes other rows;
- `within_horizon` says whether a delayed message may be published now: a worker holds every ETA or countdown
  message in memory until it is due, so nothing is published further ahead than TIMER_HORIZON_SECONDS (the broker's
  visibility_timeout outlasts that); later work waits as a row, for the horizon job or a relay.

Why each is safe, and what the delays add up to: docs/architecture.md#durability.
"""

import datetime as dt
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import models, transaction
from django.db.models import DurationField, ExpressionWrapper, F, Q, Value
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

M = TypeVar("M", bound=models.Model)

BASE_SECONDS = 10
CAP_SECONDS = 30 * 60


def backoff_seconds(attempt: int, *, cap: int = CAP_SECONDS) -> int:
    """Exponential backoff with full jitter: a retry storm after an outage spreads out instead of stampeding."""
    ceiling = min(cap, BASE_SECONDS * 2 ** max(attempt - 1, 0))
    return max(1, round(random.uniform(ceiling / 2, ceiling)))


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int | None  # None: no cap on the count (the work has a deadline of its own)
    cap_seconds: int = CAP_SECONDS

    def retry_in(self, attempts: int) -> int | None:
        """After `attempts` attempts have failed: the seconds to wait before the next, or None to give up."""
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return None
        return backoff_seconds(attempts, cap=self.cap_seconds)


# One policy per kind of work. 8 attempts of handler runs and timers span about 20-40 minutes. A message is retried
# until its own deadline (notifications.services.create.message_deadline), never for a fixed count, at most two
# minutes apart, so it goes out within two minutes of the provider answering again.
HANDLER_RUNS = RetryPolicy(max_attempts=8)
TIMERS = RetryPolicy(max_attempts=8)
DELIVERIES = RetryPolicy(max_attempts=None, cap_seconds=120)


def claim(queryset: "models.QuerySet[M]") -> M | None:
    """Lock the first row of `queryset` until the transaction ends; None when there is none, or when another
    transaction holds it. SKIP LOCKED is the point: two workers holding the same message (a redelivery, a relay,
    a sweep racing the fast path) never wait for each other, and the loser finds the row done afterwards because
    every queryset given here filters on "still to do"."""
    # of=("self",): lock the claimed row only, not the rows it joins (an event is shared by its runs).
    return queryset.select_for_update(skip_locked=True, of=("self",)).first()


def within_horizon(when: dt.datetime | float) -> bool:
    """Whether a message due at `when` (a datetime, or a delay in seconds from now) may be published now."""
    delay = (when - timezone.now()).total_seconds() if isinstance(when, dt.datetime) else when
    return delay <= settings.TIMER_HORIZON_SECONDS


_SAFE_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def error_text(exc: Exception) -> str:
    """The failure as kept on the row for admin: the exception's class and a code that holds no free text, never its
    message (a database error quotes row values, a provider's the number or the body, a handler's whatever it was
    given: PHI). The code is the exception's own `code` (a send error's "twilio:21211", an outbound call's
    "timed_out"), else a database error's SQLSTATE (e.g. 23505, a unique violation), when it is a short token."""
    for source in (exc, exc.__cause__):
        for name in ("code", "sqlstate", "pgcode"):
            code = getattr(source, name, None)
            if isinstance(code, int | str) and _SAFE_CODE.fullmatch(str(code)):
                return f"{type(exc).__name__}: {code}"
    return type(exc).__name__


def failure_record(
    row: models.Model,
    *,
    exc: Exception,
    policy: RetryPolicy,
    attempts: int,
    due_field: str = "next_attempt_at",
    error_field: str = "last_error",
    final: Mapping[str, Any] | None = None,
    retryable: bool = True,
    wait_at_least: float = 0.0,
    columns: Mapping[str, Any] | None = None,
    only_while: Mapping[str, Any] | None = None,
) -> float | None:
    """Write a failed attempt on its row (a handler run, a timer, a delivery): `attempts` (this one included), the
    error's text (`error_text`) in `error_field`, any other `columns`, and either the next attempt in `due_field`,
    `policy`'s backoff from now (or `wait_at_least`, the provider's Retry-After, when longer), or, when the policy
    gives up or the failure is not `retryable`, the `final` columns (None: the caller has a final path of its own,
    a status move with its event, and nothing is written here). `only_while` narrows the write to a row still in
    that state (a report may have moved it meanwhile). Returns the seconds until the next attempt, None: given up.

    The caller holds the row's lock, or reads it fresh, and logs the failure with ids only."""
    now = timezone.now()
    retry_in = policy.retry_in(attempts) if retryable else None
    if retry_in is None and final is None:
        return None
    changes: dict[str, Any] = {"attempts": attempts, error_field: error_text(exc), **(columns or {})}
    wait = None if retry_in is None else max(float(retry_in), wait_at_least)
    if wait is None:
        changes.update(final or {})
    else:
        changes[due_field] = now + dt.timedelta(seconds=wait)
    type(row)._default_manager.filter(pk=row.pk, **(only_while or {})).update(**changes)
    return wait


def relay_backoff(*, due: str, marked: str, now: dt.datetime) -> Q:
    """The rows a relay may take again: never marked, or pending since their last mark for at least as long as they
    had been pending (since `due`) when it was made. A row the relay publishes is published again after the grace,
    then after twice that, four times..., so a backlog longer than the grace (its messages are queued, not lost) is
    not multiplied by the relay: without this, every queued message was published again every grace period, and the
    duplicates lengthened the backlog that caused them."""
    waited_before_mark = ExpressionWrapper(F(marked) - F(due), output_field=DurationField())
    waited_since_mark = ExpressionWrapper(Value(now) - F(marked), output_field=DurationField())
    return Q(**{f"{marked}__isnull": True}) | Q(LessThanOrEqual(waited_before_mark, waited_since_mark))


def relay_take(
    queryset: "models.QuerySet[M]", *, fields: Sequence[str], order_by: str, mark: dict[str, Any], limit: int
) -> list[tuple[Any, ...]]:
    """Take up to `limit` rows as (pk, *fields), oldest first (`order_by`: the column of the rows' partial index),
    and update them with `mark` while they are locked, so that a second relay running at once takes other rows and
    the next run of this one does not take them again before they had a chance to run. The rows are marked and
    committed before the caller publishes anything: a worker that gets the message at once finds the row free."""
    with transaction.atomic():
        rows = list(queryset.select_for_update(skip_locked=True).order_by(order_by).values_list("pk", *fields)[:limit])
        queryset.model._default_manager.filter(pk__in=[row[0] for row in rows]).update(**mark)
    return rows
