"""Redis, Celery, the timers' horizon and the backstops, and Beat's schedule: a part of the settings that
config/settings/base.py imports (so `from config.settings.base import *` has it). The Celery app
(config/celery_app.py) reads the CELERY_ settings from here, and no other."""

from config.settings.environment import EMBEDDED_REDIS_URL, env, served

# --- Redis and Celery ---------------------------------------------------------------------------------------
REDIS_URL = served("REDIS_URL", EMBEDDED_REDIS_URL)
CELERY_BROKER_URL = served("CELERY_BROKER_URL", REDIS_URL)
# kombu's Redis transport with its restore of held messages made safe once the connection is closed (config/broker.py).
CELERY_BROKER_TRANSPORT = "config.broker:Transport"
# Results are not used: every outcome that matters is a database row.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# A second queue, "urgent", is chosen per message (SLA breaches, urgent hand-offs and their notifications) so
# they never wait behind routine work; workers consume both (-Q urgent,default), and Celery creates queues. A
# third, "backstop", has a worker of its own (below).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing happens after a commit, inside a request or a worker: if Redis is down, give up quickly and let
# the relay publish the committed row later instead of hanging the caller.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}

# --- Celery: worker database connections and task events (docs/PERFORMANCE.md) -----------------------------------
# Celery's Django fixup closes the database connection before and after every task unless CELERY_DB_REUSE_MAX is set,
# so CONN_MAX_AGE never applied in a worker: a new connection (about 10 ms of PostgreSQL CPU) per task. Set, the
# fixup only closes it every this many tasks; config/celery_app.py calls close_old_connections() around each task
# instead, so CONN_MAX_AGE and CONN_HEALTH_CHECKS govern a worker's connections as they do a web request's.
CELERY_DB_REUSE_MAX = 1000
# Task events (task-sent, -received, -started, -succeeded: a Redis PUBLISH each) cost a worker's main process about
# 40 % of its CPU: off. Worker heartbeats still go out, so Flower lists every worker; the tasks of a worker started
# with -E (and of any worker while `celery control enable_events` is in force) show in Flower. Flower re-enables them
# on every worker every 5 s unless started with --enable_events=False (docker-compose.yml does).
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TASK_SEND_SENT_EVENT = False

# --- Timers' horizon, backstops (docs/architecture.md#durability) ----------------------------------------------
# A timer (an SLA stage, a check-in) is only a row until it is due within this many seconds; then its ETA or
# countdown message is published (at scheduling, or by the Beat job publish-timers-in-horizon). A worker holds every
# ETA message in memory until it runs, so this bounds a worker's memory and restart time, whatever the number of
# open tasks. Retries due further ahead than this wait as rows too, for the relays.
TIMER_HORIZON_SECONDS = env.int("TIMER_HORIZON_SECONDS", default=10 * 60)
# An unacked message is redelivered by Redis after this long. Longer than the longest ETA or countdown ever
# published (the horizon) plus the longest task, since such a message stays unacked in the worker until it runs; a
# message lost inside a worker (killed while holding it) comes back after this. Celery reads it from three places.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=TIMER_HORIZON_SECONDS + 5 * 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# The backstops run on their own queue, "backstop", consumed by a worker process of its own (scripts/run.sh): a
# backlog of ordinary work can neither delay them nor, since they carry no `expires`, discard them. A late or
# overlapping run is harmless: each takes its rows with SKIP LOCKED and marks them in the same claim.
CELERY_TASK_ROUTES = {
    "bus.timers_sweep": {"queue": "backstop"},
    "bus.events_relay": {"queue": "backstop"},
    "bus.timers_publish_horizon": {"queue": "backstop"},
    "notifications.relay": {"queue": "backstop"},
    "webhooks.relay": {"queue": "backstop"},
    "tasks_app.hand_over_sweep": {"queue": "backstop"},  # docs/handover.md
}
# Web Push on its own queue and worker (notifications.services.create.delivery_publish chooses it per message): a
# push endpoint is a URL a browser chose, so a slow one holds only the push worker, never urgent work.
# notifications.deliver is stopped past these limits where Celery can stop it: in a worker of processes (the push
# worker's). The delivery worker's threads cannot be stopped; there each provider call's own deadline
# (TWILIO_TIMEOUT_SECONDS, EMAIL_TIMEOUT_SECONDS) bounds an attempt. Both limits stay under the send lease
# (NOTIFICATION_SEND_LEASE_SECONDS, 60 s): a stopped attempt is retried by the relay once its lease is over.
DELIVERY_SOFT_TIME_LIMIT_SECONDS = env.int("DELIVERY_SOFT_TIME_LIMIT_SECONDS", default=40)
DELIVERY_TIME_LIMIT_SECONDS = env.int("DELIVERY_TIME_LIMIT_SECONDS", default=50)
CELERY_TASK_ANNOTATIONS = {
    "notifications.deliver": {
        "soft_time_limit": DELIVERY_SOFT_TIME_LIMIT_SECONDS,
        "time_limit": DELIVERY_TIME_LIMIT_SECONDS,
    }
}
SWEEP_INTERVAL_SECONDS = env.int("SWEEP_INTERVAL_SECONDS", default=30)
# A pending handler run or notification whose message was published this long ago and has not run is taken
# for lost and published again (duplicates are harmless: every consumer claims its row first).
RELAY_GRACE_SECONDS = env.int("RELAY_GRACE_SECONDS", default=60)
# /readyz (care_events/platform/bus/health.py, docs/operations.md) answers 503 when a pending handler run has been due
# this
# long with no live message (never published, or published over RELAY_GRACE_SECONDS + SWEEP_INTERVAL_SECONDS ago):
# the relay would have published it by then, so the relay or the broker is not working.
READY_MAX_PENDING_RUN_AGE_SECONDS = env.int("READY_MAX_PENDING_RUN_AGE_SECONDS", default=300)
# ... and when a pending timer is this far past due: the sweep fires due timers every SWEEP_INTERVAL_SECONDS.
READY_MAX_LATE_TIMER_SECONDS = env.int("READY_MAX_LATE_TIMER_SECONDS", default=120)
# (The sweep itself is stale, and /readyz fails, 2 x SWEEP_INTERVAL_SECONDS after it last finished.)
# The backstops every SWEEP_INTERVAL_SECONDS, without `expires` (above); the other jobs expire before their next run,
# so a stopped worker does not come back to a pile of them.
CELERY_BEAT_SCHEDULE = {
    "fire-due-timers": {
        "task": "bus.timers_sweep",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "publish-timers-in-horizon": {
        "task": "bus.timers_publish_horizon",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "relay-pending-events": {
        "task": "bus.events_relay",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "relay-pending-notifications": {
        "task": "notifications.relay",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "relay-pending-webhook-deliveries": {
        "task": "webhooks.relay",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "hand-over-off-shift-tasks": {
        "task": "tasks_app.hand_over_sweep",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "assign-waiting-tasks": {
        "task": "tasks_app.assign_waiting",
        "schedule": 60,
        "options": {"expires": 60},
    },
    "forget-old-idempotency-keys": {
        "task": "api_clients.idempotency_records_prune",
        "schedule": 60 * 60,
        "options": {"expires": 60 * 60},
    },
    "reconcile-sent-notifications": {
        "task": "notifications.reconcile",
        "schedule": 60,
        "options": {"expires": 60},
    },
}
