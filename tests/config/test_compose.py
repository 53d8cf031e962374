"""docker-compose.yml is the production path, and no container engine runs here: this reads the file and checks
what it promises (a migrate job before everything, a worker per queue, one Beat, health checks, no secret in it)."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)  # YAML merge keys (<<) are resolved by the loader, as Compose does
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# The services that run the project's image (built from the Dockerfile).
APP = {name: service for name, service in SERVICES.items() if "build" in service}
REQUIRED_VAR = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*:\?[^}]+\}$")  # ${VAR:?message}: compose stops if VAR is unset


def command(service: dict[str, Any]) -> list[str]:
    value = service.get("command", [])
    return value.split() if isinstance(value, str) else [str(word) for word in value]


def celery(service: dict[str, Any]) -> str | None:
    """The Celery program a service runs (worker, beat, flower), or None."""
    words = command(service)
    if words[:1] != ["celery"] or "-A" not in words:
        return None
    return words[words.index("-A") + 2]


def option(words: list[str], name: str) -> str:
    for i, word in enumerate(words):
        if word == name:
            return words[i + 1]
        if word.startswith(f"{name}="):
            return word.split("=", 1)[1]
    raise AssertionError(f"{name} not in {words}")


def environment(service: dict[str, Any]) -> dict[str, str]:
    value = service.get("environment", {})
    if isinstance(value, list):
        return dict(item.split("=", 1) for item in value)
    return {key: str(item) for key, item in value.items()}


def seconds(duration: str) -> float:
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts and duration, f"unreadable duration {duration!r}"
    return int(parts[1] or 0) * 60 + int(parts[2] or 0)


def long_running_app() -> dict[str, dict[str, Any]]:
    return {name: service for name, service in APP.items() if name != migrate_service()}


def migrate_service() -> str:
    jobs = [name for name, service in SERVICES.items() if "migrate" in command(service)]
    assert len(jobs) == 1, f"exactly one migrate job, found {jobs}"
    return jobs[0]


def test_the_web_service_runs_gunicorn_with_the_wsgi_app():
    words = command(SERVICES["web"])
    assert words[0] == "gunicorn"
    assert any(word.split(":")[0] == "config.wsgi" for word in words[1:])
    assert "migrate" not in " ".join(words)


def test_exactly_one_migrate_job_runs_once_before_every_app_service():
    job = SERVICES[migrate_service()]
    assert command(job)[:3] == ["python", "manage.py", "migrate"]
    assert str(job.get("restart", "no")) == "no", "a one-shot job: restarted, it would never complete"
    assert job["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, service in long_running_app().items():
        assert service["depends_on"][migrate_service()] == {"condition": "service_completed_successfully"}, name
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}, name
        assert service["depends_on"]["redis"] == {"condition": "service_healthy"}, name


def test_one_worker_per_queue_each_given_time_for_a_warm_shutdown():
    workers = {name: service for name, service in SERVICES.items() if celery(service) == "worker"}
    queues = sorted(option(command(service), "-Q") for service in workers.values())
    assert queues == ["default", "urgent"], "one worker consumes urgent, another default"
    names = [option(command(service), "--hostname").split("@")[0] for service in workers.values()]
    assert len(set(names)) == len(names), "each worker has its own node name (its health check pings it)"
    for name, service in workers.items():
        assert seconds(service["stop_grace_period"]) >= 60, name


def test_exactly_one_beat():
    assert [name for name, service in SERVICES.items() if celery(service) == "beat"] == ["beat"]


def test_flower_takes_its_basic_auth_from_the_environment():
    flowers = [service for service in SERVICES.values() if celery(service) == "flower"]
    assert len(flowers) == 1
    flower = flowers[0]
    from_env = environment(flower).get("FLOWER_BASIC_AUTH", "")
    on_command = [word for word in command(flower) if word.startswith("--basic-auth")]
    assert REQUIRED_VAR.match(from_env) or (on_command and REQUIRED_VAR.match(option(on_command, "--basic-auth")))
    # It keeps the app's settings too (the merge into its own environment did not drop them).
    assert environment(flower)["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


@pytest.mark.parametrize("name", ["postgres", "redis"])
def test_postgres_and_redis_have_health_checks_and_named_volumes(name):
    service = SERVICES[name]
    assert service["healthcheck"]["test"]
    volumes = [str(volume).split(":")[0] for volume in service["volumes"]]
    assert volumes and all(volume in COMPOSE["volumes"] for volume in volumes), volumes


def test_redis_keeps_its_messages_appendonly_and_never_evicts():
    words = command(SERVICES["redis"])
    assert option(words, "--appendonly") == "yes"
    assert option(words, "--maxmemory-policy") == "noeviction"


def test_every_app_service_runs_with_production_settings():
    assert set(APP) >= {"web", "beat", "flower", migrate_service()}
    for name, service in APP.items():
        assert environment(service)["DJANGO_SETTINGS_MODULE"] == "config.settings.production", name
    assert "ENV DJANGO_SETTINGS_MODULE=config.settings.production" in (ROOT / "Dockerfile").read_text()


def test_every_long_running_app_service_has_a_health_check():
    for name, service in long_running_app().items():
        assert service.get("healthcheck", {}).get("test"), name
    assert "/healthz" in " ".join(map(str, SERVICES["web"]["healthcheck"]["test"]))


def test_no_secret_value_is_written_in_the_file():
    assert not re.search(r"password\s*=", COMPOSE_TEXT, re.IGNORECASE)
    secret_name = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|BASIC_AUTH", re.IGNORECASE)
    for name, service in SERVICES.items():
        for key, value in environment(service).items():
            if secret_name.search(key):
                assert REQUIRED_VAR.match(value), f"{name}: {key} must come from the environment: ${{{key}:?...}}"
            # A URL's password too (postgres://user:password@host).
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert REQUIRED_VAR.match(password), f"{name}: the password in {key}"
        for word in command(service):
            assert not re.search(r"(pass|auth|secret|token)[^=]*=(?!\$\{)", word, re.IGNORECASE), (name, word)
