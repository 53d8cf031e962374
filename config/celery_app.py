from collections.abc import Iterator, Mapping
from typing import Any

from celery import Celery, signals
from django.conf import settings
from django.db import close_old_connections
from django.template import engines
from django.urls import URLResolver, get_resolver

from config.settings_module import require_settings_module

require_settings_module()

PREFIX = "CELERY_"


class CelerySettings(Mapping[str, Any]):
    """Django's settings as Celery sees them: the CELERY_ ones only (config/settings/celery.py), under Celery's own
    names (CELERY_BROKER_URL is broker_url), read live (a test's override takes effect). Celery shows its whole
    source to `celery inspect conf` and to Flower: given all of Django's settings it showed REDIS_URL, the cache's and
    the database's URLs, passwords included; under its own names it masks the broker URL's password too. The Django
    fixup's CELERY_DB_REUSE_MAX is answered by its Django name."""

    def _names(self) -> list[str]:
        return [name.removeprefix(PREFIX).lower() for name in dir(settings) if name.startswith(PREFIX)]

    def __getitem__(self, name: str) -> Any:
        if name.startswith(PREFIX):
            django_name = name
        elif name == name.lower():
            django_name = PREFIX + name.upper()
        else:
            raise KeyError(name)
        if not hasattr(settings, django_name):
            raise KeyError(name)
        return getattr(settings, django_name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


app = Celery("sequora")
app.config_from_object(CelerySettings())
# Each app's tasks.py, and those of the platform packages inside care_events (the bus, the API's clients, the
# outbound webhooks).
app.autodiscover_tasks()
app.autodiscover_tasks(
    ["care_events.platform.bus", "care_events.platform.api_clients", "care_events.platform.webhooks"]
)


@signals.worker_init.connect(dispatch_uid="sequora.worker_init.load_before_fork")
def _load_before_fork(**kwargs: Any) -> None:
    """What each task process would otherwise load at its first task, loaded once in the worker's main process
    before its pool forks, so that every process (and one Celery replaces later) starts with it: the URL patterns,
    with every app's views that they import (a nurse's message links to its task through `reverse()`; the first one
    cost a fresh process 0.3-0.5 s of CPU, FHIR's models among the imports), and the template engine."""
    _patterns_load(get_resolver())
    engines.all()


def _patterns_load(resolver: URLResolver) -> None:
    """Every resolver's patterns: an included namespace's are loaded at its own first use, not with its parent's."""
    resolver.reverse_dict  # noqa: B018 - the property loads them
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            _patterns_load(pattern)


@signals.task_prerun.connect(dispatch_uid="sequora.task_prerun.close_old_connections")
@signals.task_postrun.connect(dispatch_uid="sequora.task_postrun.close_old_connections")
def _close_old_connections(*, task: Any = None, **kwargs: Any) -> None:
    """A worker's database connections live as a web request's do: kept from task to task for CONN_MAX_AGE, and
    checked before a task's first query (CONN_HEALTH_CHECKS), so the task after a PostgreSQL restart reconnects
    instead of failing. Celery's Django fixup would otherwise close them around every task (about 10 ms of
    PostgreSQL CPU per new connection, four per escalation); CELERY_DB_REUSE_MAX stops it (config/settings/celery.py).
    A task run eagerly (`.apply()` in a test) runs inside its caller's transaction: nothing is closed there."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_connections()
