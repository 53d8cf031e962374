"""A send rate shared by every worker, per provider account: a token bucket in Redis.

A burst of escalations then waits its turn instead of drawing the provider's 429s. Urgent messages go first: a
routine message takes a token only while the bucket holds more than the reserve kept for urgent ones. If Redis
cannot be asked, messages are not held back (the provider's own 429s are still retried) and it is logged.
"""

import logging

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# Share of the bucket kept for urgent messages.
URGENT_RESERVE = 0.5

# KEYS[1]: the bucket. ARGV: rate per second, capacity, tokens a caller may not take (its reserve). Redis's own
# clock, so workers on several hosts agree. Returns 0 when a token was taken, else the seconds until one is free.
_TAKE = """
local rate, capacity, reserve = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens - 1 >= reserve then
  tokens = tokens - 1
else
  wait = (reserve + 1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return tostring(wait)
"""

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1)
    return _client


def send_slot_wait(provider: str, *, urgent: bool) -> float:
    """Take a send slot at `provider`: 0 when taken, else the seconds to wait before asking again."""
    rate = settings.NOTIFICATION_RATE_PER_SECOND
    if provider == "local" or rate <= 0:
        return 0.0
    capacity = max(1.0, rate)  # at most one second's worth in a burst
    reserve = 0.0 if urgent else capacity * URGENT_RESERVE
    try:
        wait = float(_redis().eval(_TAKE, 1, f"sequora:send-rate:{provider}", rate, capacity, reserve))
    except redis.RedisError:
        logger.warning("send rate not applied: Redis did not answer")
        return 0.0
    return wait
