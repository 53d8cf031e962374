"""Issue 19 row 11: `config/celery_app.py` loaded every Django setting into Celery, so `celery inspect conf` (and
Flower) showed REDIS_URL, the broker's and the cache's URLs with their password. Celery's source now holds the CELERY_
settings only, under Celery's own names, so it masks the broker URL's password as it does for its own settings."""

from types import SimpleNamespace

from celery.worker import control

from config.celery_app import app


def inspect_conf() -> dict:
    """What a worker answers to `celery inspect conf` (its remote-control command, called as the worker calls it)."""
    return control.conf(SimpleNamespace(app=app))


def test_inspect_conf_shows_celerys_own_settings_and_no_password(settings):
    settings.REDIS_URL = "redis://:redis-s3cret@redis.internal:6379/0"
    settings.CELERY_BROKER_URL = "redis://:broker-s3cret@redis.internal:6379/0"
    settings.CACHES = {"default": {"BACKEND": "x", "LOCATION": "redis://:cache-s3cret@redis.internal:6379/1"}}

    shown = inspect_conf()

    text = repr(shown)
    for secret in ("redis-s3cret", "broker-s3cret", "cache-s3cret", settings.SECRET_KEY):
        assert secret not in text
    assert shown["broker_url"] == "redis://:********@redis.internal:6379/0"
    assert {"redis_url", "caches", "databases", "secret_key", "REDIS_URL", "SECRET_KEY"}.isdisjoint(shown)
    assert all(key == key.lower() for key in shown), "Celery's own names only"


def test_celery_still_reads_its_settings_live():
    assert app.conf.task_acks_late is True
    assert app.conf.task_routes["notifications.relay"] == {"queue": "backstop"}
    assert app.conf.task_annotations["notifications.deliver"]["time_limit"] < 60  # under the send lease
    # The Django fixup asks for this one by its Django name.
    assert app.conf.get("CELERY_DB_REUSE_MAX") == 1000
