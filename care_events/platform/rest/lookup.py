"""The one way a nested list checks its parent: a parent the caller cannot reach, or that does not exist, is a 404
(never an empty list, which would say it exists; never a 403, which would say it exists and is someone else's)."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404


def require_in_reach(reachable: QuerySet[Any], pk: Any) -> None:
    """404 unless the row `pk` is among `reachable` (the caller's scoped queryset of parents)."""
    if not reachable.filter(pk=pk).exists():
        raise Http404
