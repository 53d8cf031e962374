"""The one backoff rule for every retry in the product (handler runs, timers, message delivery)."""

import random

BASE_SECONDS = 10
CAP_SECONDS = 30 * 60


def backoff_seconds(attempt: int) -> int:
    """Exponential backoff with full jitter: a retry storm after an outage spreads out instead of stampeding."""
    ceiling = min(CAP_SECONDS, BASE_SECONDS * 2 ** max(attempt - 1, 0))
    return max(1, round(random.uniform(ceiling / 2, ceiling)))
