"""Prometheus metrics at `GET /metrics`, read from PostgreSQL and the broker at scrape time.

A custom collector rather than counters kept in process memory: the web, worker and Beat processes are many and
short-lived, while the rows are the truth (docs/architecture.md#durability), so any web process answers a scrape
with the same numbers. Counts and durations only, never a name or a message: the endpoint is anonymous. Every
family is listed, with what it means and how to alert on it, in docs/operations.md.

Cost: each query is an aggregate, and most follow an index (the event name and creation indexes, the partial indexes
of pending runs and pending timers, the task creation index). Handler runs by status, failed timers and
notifications by channel and status have no index to follow and read their table once per scrape.
"""

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import redis
from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.db.models.expressions import CombinedExpression
from django.db.models.lookups import LessThanOrEqual
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from care_events.choices import Channel
from care_events.platform.bus.catalogue import BACKSTOP, CATALOGUE, DEFAULT, DELIVERY, PUSH, URGENT
from care_events.platform.bus.dispatch import handlers_for
from care_events.platform.bus.health import oldest_late_timer_age, oldest_undispatched_run_age, sweep_heartbeat_age
from care_events.platform.bus.models import Event, HandlerRun, RunStatus, Timer, TimerKind
from intake.adt import SUPPORTED_EVENTS
from intake.models import AdtMessage, AdtSource, AdtStatus
from notifications.models import NotificationLog, NotificationStatus
from tasks_app.models import EscalationTask, TaskStatus

logger = logging.getLogger(__name__)

# Durations are observed over a sliding window: the rows of the last hour, not a count since the process started.
WINDOW = dt.timedelta(hours=1)
HANDLER_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
ASSIGNMENT_LATENCY_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
# The broker's lists that hold waiting messages (kombu's Redis transport: one list per queue).
QUEUES = (URGENT, DEFAULT, DELIVERY, PUSH, BACKSTOP)
# kombu's Redis transport keeps every message a worker has taken but not acknowledged in this hash: running,
# prefetched, or held by the worker until its ETA or countdown (every timer's fast path).
UNACKED_KEY = "unacked"


def _histogram_aggregates(duration: CombinedExpression, bounds: Sequence[float]) -> dict[str, Any]:
    """One aggregate per bucket (observations at most `bound`), their count and their sum: one pass over the rows."""
    aggregates: dict[str, Any] = {
        f"le_{index}": Count("pk", filter=LessThanOrEqual(duration, dt.timedelta(seconds=bound)))
        for index, bound in enumerate(bounds)
    }
    return aggregates | {"count": Count("pk"), "sum": Sum(duration)}


def _histogram_add(
    family: HistogramMetricFamily, labels: list[str], row: Mapping[str, Any], bounds: Sequence[float]
) -> None:
    buckets = [(floatToGoString(bound), float(row[f"le_{index}"])) for index, bound in enumerate(bounds)]
    total: dt.timedelta | None = row["sum"]
    family.add_metric(labels, [*buckets, ("+Inf", float(row["count"]))], total.total_seconds() if total else 0.0)


def events_metrics() -> Iterator[Metric]:
    # Index-only over the event name index; every catalogued event is listed, at 0 until it happens.
    emitted = dict.fromkeys(CATALOGUE, 0) | {
        row["name"]: row["n"] for row in Event.objects.order_by().values("name").annotate(n=Count("*"))
    }
    family = CounterMetricFamily("sequora_events_emitted", "Events recorded, by event name.", labels=["event"])
    for name, count in sorted(emitted.items()):
        family.add_metric([name], count)
    yield family
    yield CounterMetricFamily(
        "sequora_sla_warnings", "SLA warnings reached (task/sla_warning events).", value=emitted["task/sla_warning"]
    )
    yield CounterMetricFamily(
        "sequora_sla_breaches", "SLA breaches reached (task/sla_breach events).", value=emitted["task/sla_breach"]
    )


def handler_run_metrics(now: dt.datetime) -> Iterator[Metric]:
    handlers = {h.name for event_name in CATALOGUE for h in handlers_for(event_name) if not h.inline}
    counts = {
        (row["handler"], row["status"]): row["n"]
        for row in HandlerRun.objects.order_by().values("handler", "status").annotate(n=Count("*"))
    }
    runs = GaugeMetricFamily(
        "sequora_handler_runs", "Handler runs, by handler and status.", labels=["handler", "status"]
    )
    for handler in sorted(handlers | {handler for handler, _ in counts}):
        for status in RunStatus.values:
            runs.add_metric([handler, status], counts.get((handler, status), 0))
    yield runs

    # Runs of the events of the last hour (the event creation index, then each event's runs by their unique
    # index), rather than runs finished in the last hour, which no index finds.
    duration = F("finished_at") - F("started_at")
    rows = (
        HandlerRun.objects.filter(
            event__created_at__gte=now - WINDOW, status=RunStatus.SUCCEEDED, started_at__isnull=False
        )
        .order_by("handler")
        .values("handler")
        .annotate(**_histogram_aggregates(duration, HANDLER_DURATION_BUCKETS))
    )
    durations = HistogramMetricFamily(
        "sequora_handler_run_duration_seconds",
        "Time a successful handler run took (finished_at - started_at), runs of the events of the last hour.",
        labels=["handler"],
    )
    for row in rows:
        _histogram_add(durations, [row["handler"]], row, HANDLER_DURATION_BUCKETS)
    yield durations

    age = oldest_undispatched_run_age(now)
    yield GaugeMetricFamily(
        "sequora_handler_run_oldest_undispatched_seconds",
        "How long the oldest pending handler run without a live message has been due (0: none). /readyz fails "
        "above READY_MAX_PENDING_RUN_AGE_SECONDS.",
        value=age or 0.0,
    )


def timer_metrics(now: dt.datetime) -> Iterator[Metric]:
    pending: dict[tuple[str, str], int] = {}
    for row in (
        Timer.objects.pending()
        .order_by()
        .values("kind")
        .annotate(pending=Count("*"), due=Count("pk", filter=Q(due_at__lte=now)))
    ):
        pending[row["kind"], "pending"], pending[row["kind"], "due"] = row["pending"], row["due"]
    failed = {
        row["kind"]: row["n"]
        for row in Timer.objects.exclude(failed_at=None).order_by().values("kind").annotate(n=Count("*"))
    }
    families = {
        "pending": GaugeMetricFamily(
            "sequora_timers_pending", "Timers not yet fired, cancelled or given up, by kind.", labels=["kind"]
        ),
        "due": GaugeMetricFamily(
            "sequora_timers_due", "Pending timers whose due time has passed (due and late), by kind.", labels=["kind"]
        ),
    }
    failed_family = GaugeMetricFamily(
        "sequora_timers_failed", "Timers given up after their attempts (re-arm in admin), by kind.", labels=["kind"]
    )
    for kind in TimerKind.values:
        for key, family in families.items():
            family.add_metric([kind], pending.get((kind, key), 0))
        failed_family.add_metric([kind], failed.get(kind, 0))
    yield from families.values()
    yield failed_family

    age = oldest_late_timer_age(now)
    yield GaugeMetricFamily(
        "sequora_timer_oldest_late_seconds",
        "How far past due the most overdue pending timer is (0: none). /readyz fails above "
        "READY_MAX_LATE_TIMER_SECONDS.",
        value=age or 0.0,
    )
    try:
        sweep_age = sweep_heartbeat_age()
    except Exception:
        logger.warning("metrics: the cache holding the sweep's heartbeat does not answer", exc_info=True)
    else:
        # NaN when the sweep never ran (as far as the cache knows): "unknown", which an alert on "> 60" ignores, so
        # alert on absent-or-NaN too (docs/operations.md).
        yield GaugeMetricFamily(
            "sequora_timer_sweep_age_seconds",
            "Seconds since Beat's timer sweep last finished (NaN: never). Stale after 2 x SWEEP_INTERVAL_SECONDS.",
            value=float("nan") if sweep_age is None else sweep_age,
        )


def broker_metrics() -> Iterator[Metric]:
    up = GaugeMetricFamily("sequora_celery_broker_up", "1 if the Celery broker (Redis) answered this scrape.")
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1, retry=None)
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in QUEUES:
                pipe.llen(queue)
            pipe.hlen(UNACKED_KEY)
            *lengths, unacked = pipe.execute()
    except redis.RedisError:
        logger.warning("metrics: the Celery broker does not answer", exc_info=True)
        up.add_metric([], 0)
        yield up
        return
    finally:
        client.close()
    up.add_metric([], 1)
    yield up
    depth = GaugeMetricFamily(
        "sequora_celery_queue_length", "Messages waiting in a Celery queue (Redis LLEN).", labels=["queue"]
    )
    for queue, length in zip(QUEUES, lengths, strict=True):
        depth.add_metric([queue], length)
    yield depth
    yield GaugeMetricFamily(
        "sequora_celery_unacked_messages",
        "Messages taken by a worker and not acknowledged yet: running, prefetched, or held until their ETA.",
        value=unacked,
    )


def notification_metrics() -> Iterator[Metric]:
    counts = {
        (row["channel"], row["status"]): row["n"]
        for row in NotificationLog.objects.order_by().values("channel", "status").annotate(n=Count("*"))
    }
    family = GaugeMetricFamily(
        "sequora_notifications", "Notification log rows, by channel and status.", labels=["channel", "status"]
    )
    for channel in Channel.values:
        for status in NotificationStatus.values:
            family.add_metric([channel, status], counts.get((channel, status), 0))
    yield family


def adt_metrics(now: dt.datetime) -> Iterator[Metric]:
    """The hospital's feed by source, event and outcome: every supported event with every status is listed (0 until
    it happens), and any other event type that was received (and rejected) as well. Reads the table once; then
    the age of the oldest held message."""
    counts = {
        (row["source"], row["event"], row["status"]): row["n"]
        for row in AdtMessage.objects.order_by().values("source", "event", "status").annotate(n=Count("*"))
    }
    keys = {(AdtSource.HL7V2.value, event, status) for event in SUPPORTED_EVENTS for status in AdtStatus.values}
    family = GaugeMetricFamily(
        "sequora_adt_messages",
        "ADT feed messages stored, by source (HL7V2, FHIR), event (A01 ... A40) and status.",
        labels=["source", "event", "status"],
    )
    for source, event, status in sorted(keys | set(counts)):
        family.add_metric([source, event or "none", status], counts.get((source, event, status), 0))
    yield family

    # A message held for its visit's admission (a discharge before its A01): until that comes, its patient has no
    # check-in. The received_at index, the held ones only (few).
    oldest = AdtMessage.objects.filter(status=AdtStatus.HELD).order_by("received_at").values("received_at").first()
    yield GaugeMetricFamily(
        "sequora_adt_held_oldest_seconds",
        "How long the oldest ADT message held for its visit's admission has waited (0: none).",
        value=(now - oldest["received_at"]).total_seconds() if oldest else 0.0,
    )


def task_metrics(now: dt.datetime) -> Iterator[Metric]:
    latency = F("assigned_at") - F("created_at")
    # Tasks created in the last hour (the creation index) and assigned since, to their current assignment.
    row = EscalationTask.objects.filter(created_at__gte=now - WINDOW, assigned_at__isnull=False).aggregate(
        **_histogram_aggregates(latency, ASSIGNMENT_LATENCY_BUCKETS)
    )
    family = HistogramMetricFamily(
        "sequora_task_assignment_latency_seconds",
        "Time from a task's creation to its assignment, tasks created in the last hour.",
        labels=[],
    )
    _histogram_add(family, [], row, ASSIGNMENT_LATENCY_BUCKETS)
    yield family
    yield GaugeMetricFamily(
        "sequora_tasks_unassigned",
        "Open tasks that no nurse holds (nobody on shift, or everyone at their limit).",
        value=EscalationTask.objects.filter(status=TaskStatus.OPEN).count(),
    )


class SequoraCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        now = timezone.now()
        yield from events_metrics()
        yield from handler_run_metrics(now)
        yield from timer_metrics(now)
        yield from broker_metrics()
        yield from notification_metrics()
        yield from adt_metrics(now)
        yield from task_metrics(now)


# Our collector only. Not the client's default registry: its process and GC metrics would describe whichever web
# process answered the scrape, and this endpoint describes the system.
REGISTRY = CollectorRegistry()
REGISTRY.register(SequoraCollector())


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    # The client's own content negotiation: OpenMetrics when Prometheus asks for it, else the classic text format.
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(REGISTRY), content_type=content_type)
