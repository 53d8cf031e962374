"""pytest: the same PostgreSQL and Redis as production code paths, a fast password hasher."""

from urllib.parse import urlsplit

from config.settings.base import *
from config.settings.base import MIDDLEWARE, REDIS_URL, env


def _redis_database(number: int) -> str:
    """Database `number` of the Redis in REDIS_URL (the embedded one by default, scripts/services.py)."""
    return urlsplit(REDIS_URL)._replace(path=f"/{number}").geturl()


DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", default="test-only-insecure-key")
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A separate Redis database so that the test suite never touches a running demo's queue.
CELERY_BROKER_URL = env("TEST_CELERY_BROKER_URL", default=_redis_database(15))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Static files are not collected for tests; WhiteNoise would warn on every request.
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("whitenoise")]
# The API's rate-limit counters in their own Redis database, emptied by the API tests (tests/api/conftest.py).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("TEST_CACHE_URL", default=_redis_database(14)),
        "KEY_PREFIX": "sequora-test",
    }
}
# No shared send rate by default: a test of the rate sets it (tests/notifications/test_throttle.py).
NOTIFICATION_RATE_PER_SECOND = 0
# The agent's webhook in tests is a local plain-http server; its retries come within seconds, not minutes.
WEBHOOK_REQUIRE_HTTPS = False
WEBHOOK_ALLOW_PRIVATE_HOSTS = True
WEBHOOK_RETRY_CAP_SECONDS = 2
WEBHOOK_TIMEOUT_SECONDS = 5.0
