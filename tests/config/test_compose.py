"""docker-compose.yml is the production path, and no container engine runs here: this reads the file and checks
what it promises (only the TLS proxy published, a migrate job before everything, a worker per queue, one Beat,
health checks, no secret in it, each service given only the secrets it needs). The proxy's own behaviour is tested
in a real Caddy: tests/config/test_proxy.py."""

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
# A secret's value: a required variable, or an optional one that is empty when unset (${VAR:-}); never a literal.
SECRET_REFERENCE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*(:\?[^}]+|:-)?\}$")
WORKERS = ("worker-urgent", "worker-default", "worker-delivery", "worker-push", "worker-backstop")
# The secrets in .env, and the services that need each.
SECRETS = {
    "POSTGRES_PASSWORD": {"postgres"},
    "DATABASE_OWNER_PASSWORD": {"postgres", "migrate"},
    "DATABASE_APP_PASSWORD": {"postgres", "migrate", "web", *WORKERS, "mllp"},
    "REDIS_PASSWORD": {"redis", "web", *WORKERS, "beat", "flower", "mllp"},
    "DJANGO_SECRET_KEY": {"migrate", "web", *WORKERS, "beat", "flower", "mllp"},
    "FLOWER_PASSWORD_HASH": {"proxy"},
    "FLOWER_BASIC_AUTH": {"flower"},
    "TWILIO_AUTH_TOKEN": {"web", "worker-urgent", "worker-default", "worker-delivery", "worker-push"},
    "VAPID_PRIVATE_KEY": {"worker-urgent", "worker-default", "worker-delivery", "worker-push"},
    "ANYMAIL_SETTINGS": {"worker-urgent", "worker-default", "worker-delivery", "worker-push"},
}
CADDYFILE = (ROOT / "deploy" / "Caddyfile").read_text()


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


def test_the_web_service_runs_gunicorn_with_the_wsgi_app_and_its_config_file():
    words = command(SERVICES["web"])
    assert words[0] == "gunicorn"
    assert option(words, "-c") == "config/gunicorn.py"
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
    assert queues == ["backstop", "default", "delivery", "push", "urgent"], (
        "one worker per queue: urgent, default, the providers' calls, Web Push and the backstops"
    )
    assert "-P" not in command(workers["worker-push"]), "Celery's time limits stop processes, not threads"
    names = [option(command(service), "--hostname").split("@")[0] for service in workers.values()]
    assert len(set(names)) == len(names), "each worker has its own node name (its health check pings it)"
    for name, service in workers.items():
        assert seconds(service["stop_grace_period"]) >= 60, name


def test_exactly_one_beat():
    assert [name for name, service in SERVICES.items() if celery(service) == "beat"] == ["beat"]


def test_only_the_tls_proxy_and_the_mllp_listener_are_published():
    published = {name: service["ports"] for name, service in SERVICES.items() if "ports" in service}
    assert list(published) == ["proxy", "mllp"], "gunicorn, Flower, PostgreSQL and Redis have no published port"
    # The ADT feed is not HTTP: published on the host's loopback unless MLLP_PUBLISH_ADDRESS says otherwise.
    assert published["mllp"] == ["${MLLP_PUBLISH_ADDRESS:-127.0.0.1}:${MLLP_PUBLISH_PORT:-2575}:2575"]
    assert command(SERVICES["mllp"]) == ["python", "manage.py", "mllp_listener"]
    assert "edge" not in SERVICES["mllp"]["networks"]
    assert {str(port).split(":")[-1].split("/")[0] for port in published["proxy"]} == {"80", "443"}
    proxy = SERVICES["proxy"]
    assert proxy["image"] == "caddy:2"
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    # The proxy is on the edge network only: it reaches web and Flower, never PostgreSQL or Redis.
    assert proxy["networks"] == ["edge"]
    for name in ("postgres", "redis", "beat", "worker-urgent", "worker-default", "worker-backstop", "migrate"):
        assert "edge" not in SERVICES[name]["networks"], name


def test_the_proxy_overwrites_the_forwarded_headers_for_every_upstream():
    proxies = re.findall(r"reverse_proxy \S+ \{(.*?)\n\t\t\}", CADDYFILE, re.DOTALL)
    assert len(proxies) == 2, "web and Flower"
    for block in proxies:
        assert "header_up X-Forwarded-Proto {scheme}" in block
        assert "header_up X-Forwarded-For {remote_host}" in block


def test_flower_is_reached_through_the_proxy_only_read_only_and_behind_its_own_credential():
    flowers = [name for name, service in SERVICES.items() if celery(service) == "flower"]
    assert flowers == ["flower"]
    words = command(SERVICES["flower"])
    assert option(words, "--url_prefix") == "flower"
    assert "--read_only" in words, "no worker control or task sending, even past the proxy"
    assert "ports" not in SERVICES["flower"]
    assert "basicauth {\n\t\t\t\t{$FLOWER_USER} {$FLOWER_PASSWORD_HASH}\n\t\t\t}" in CADDYFILE
    assert "forward_auth {$WEB_UPSTREAM:web:8000} {\n\t\t\t\turi /admin/flower-access/" in CADDYFILE
    assert REQUIRED_VAR.match(environment(SERVICES["proxy"])["FLOWER_PASSWORD_HASH"])
    # Its own credential too: a container on the edge network that reaches it directly still needs a password.
    assert REQUIRED_VAR.match(environment(SERVICES["flower"])["FLOWER_BASIC_AUTH"])
    # It keeps the app's settings (the merge into its own environment did not drop them).
    assert environment(SERVICES["flower"])["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_task_events_come_from_the_urgent_worker_only():
    """Task events cost a worker's main process about 40 % of its CPU (docs/PERFORMANCE.md): off in settings, on
    (-E) for the worker whose tasks Flower shows, and Flower does not switch them back on in every worker."""
    assert option(command(SERVICES["flower"]), "--enable_events") == "False"
    workers = {name: command(service) for name, service in SERVICES.items() if celery(service) == "worker"}
    assert [name for name, words in workers.items() if "-E" in words] == ["worker-urgent"]


def test_the_proxy_blocks_flowers_config_and_control_paths():
    blocked = re.search(r"@flower_blocked path (.*)", CADDYFILE)[1].split()
    assert "respond @flower_blocked" in CADDYFILE
    for path in (
        "/flower/worker/*",  # a worker's page: its Config tab
        "/flower/api/workers",  # the same configuration as JSON
        "/flower/api/worker/*",  # shutdown, pool restart, grow, shrink, autoscale, queue consumers
        "/flower/api/task/revoke/*",  # revoke and terminate
        "/flower/api/task/apply/*",
        "/flower/api/task/async-apply/*",
        "/flower/api/task/send-task/*",
        "/flower/api/task/abort/*",
    ):
        assert path in blocked, path


def test_redis_requires_a_password_that_every_client_url_carries():
    password = option(command(SERVICES["redis"]), "--requirepass")
    assert REQUIRED_VAR.match(password) and password.startswith("${REDIS_PASSWORD:?")
    assert environment(SERVICES["redis"])["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD:?"), "its health check"
    for name, service in APP.items():
        url = environment(service).get("REDIS_URL")
        if url is not None:
            assert url.startswith("redis://:${REDIS_PASSWORD:?"), name


def test_each_service_gets_only_the_secrets_it_needs():
    for name, service in SERVICES.items():
        assert "env_file" not in service or service["env_file"] == "deploy/app.env", f"{name}: no shared .env"
        referenced = set(
            re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", " ".join([*environment(service).values(), *command(service)]))
        )
        given = {secret for secret in SECRETS if secret in referenced}
        assert given == {secret for secret, users in SECRETS.items() if name in users}, name


def test_the_shared_settings_file_holds_no_secret():
    lines = [line for line in (ROOT / "deploy" / "app.env").read_text().splitlines() if "=" in line]
    for line in lines:
        key = line.lstrip("# ").split("=", 1)[0]
        assert key not in SECRETS and not re.search(r"PASSWORD|SECRET|TOKEN|PRIVATE", key), line


def test_env_example_lists_every_variable_the_file_needs_all_empty():
    example = dict(
        line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if line and line[0] != "#"
    )
    assert all(value == "" for value in example.values()), "no value in the example, not even a placeholder"
    uncommented = "\n".join(line for line in COMPOSE_TEXT.splitlines() if not line.lstrip().startswith("#"))
    required = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):\?", uncommented))
    assert required <= set(example), required - set(example)
    assert set(SECRETS) <= set(example)


@pytest.mark.parametrize("name", ["postgres", "redis"])
def test_postgres_and_redis_have_health_checks_and_named_volumes(name):
    service = SERVICES[name]
    assert service["healthcheck"]["test"]
    volumes = [str(volume).split(":")[0] for volume in service["volumes"] if not str(volume).startswith("./")]
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
    secret_name = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|BASIC_AUTH|AUTH|ANYMAIL", re.IGNORECASE)
    for name, service in SERVICES.items():
        for key, value in environment(service).items():
            if secret_name.search(key):
                assert SECRET_REFERENCE.match(value), f"{name}: {key} must come from the environment: ${{{key}:?...}}"
            # A URL's password too (postgres://user:password@host).
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert REQUIRED_VAR.match(password), f"{name}: the password in {key}"
        for word in command(service):
            assert not re.search(r"(pass|auth|secret|token)[^=]*=(?!\$\{)", word, re.IGNORECASE), (name, word)
