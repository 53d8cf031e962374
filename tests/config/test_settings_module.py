"""No entry point falls back to a default settings module: without DJANGO_SETTINGS_MODULE, manage.py, the WSGI and
ASGI applications, the Celery app and gunicorn refuse to start with a short message naming the export to type. The
one thing that names it instead: the record of a scripts/run.sh running from the checkout (.run/product.env), which
also gives every other shell there the servers' URLs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = (
    "error: DJANGO_SETTINGS_MODULE is not set. For development type:\n"
    "    export DJANGO_SETTINGS_MODULE=config.settings.local\n"
    "(on a server: config.settings.production). While scripts/run.sh runs in this directory, no export is needed."
)
SHOW_SETTINGS = (
    "from django.conf import settings as s; db = s.DATABASES['default']; "
    "print(s.SETTINGS_MODULE, db['PORT'], db['NAME'], s.CELERY_BROKER_URL, s.PUBLIC_BASE_URL)"
)


def run(*command: str, run_dir: Path, settings: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    """`command` in a shell of the checkout with nothing exported (.run/ at `run_dir`, so that a developer's own
    running product plays no part)."""
    unset = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL", "PUBLIC_BASE_URL"}
    env = {k: v for k, v in os.environ.items() if k not in unset and not k.startswith("SEQUORA_")}
    env |= {"SEQUORA_RUN_DIR": str(run_dir), **extra}
    if settings:
        env["DJANGO_SETTINGS_MODULE"] = settings
    return subprocess.run(  # noqa: S603
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def run_sh(tmp_path):
    """A live process that is a run.sh, as the record's pid must be (two commands: bash would exec a lone one)."""
    process = subprocess.Popen(["bash", "-c", "sleep 60; exit", "scripts/run.sh"])  # noqa: S607 - bash from PATH
    yield process
    process.kill()
    process.wait()


def write_record(run_dir: Path, pid: int, **values: str) -> None:
    run_dir.mkdir(exist_ok=True)
    lines = [f"SEQUORA_RUN_PID={pid}", *(f"{name}={value}" for name, value in values.items())]
    (run_dir / "product.env").write_text("# a comment\n" + "\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "manage.py", "check"],
        [sys.executable, "-c", "import config.wsgi"],
        [sys.executable, "-c", "import config.asgi"],
        [sys.executable, "-m", "celery", "-A", "config.celery_app", "report"],
    ],
    ids=["manage.py", "wsgi", "asgi", "celery"],
)
def test_an_entry_point_without_a_settings_module_refuses_to_start(command, tmp_path):
    result = run(*command, run_dir=tmp_path)

    assert result.returncode == 3
    assert result.stderr.strip() == MESSAGE
    assert result.stdout == ""


def test_gunicorn_stops_for_good_instead_of_restarting_workers(tmp_path):
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))

    result = run(
        gunicorn, "-c", "config/gunicorn.py", "config.wsgi", "--bind", "127.0.0.1:0", "--workers", "1", run_dir=tmp_path
    )

    assert result.returncode != 0
    assert MESSAGE in result.stderr
    assert "Worker failed to boot" in result.stderr


def test_with_the_settings_module_named_manage_py_runs(tmp_path):
    result = run(sys.executable, "manage.py", "check", run_dir=tmp_path, settings="config.settings.test")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_while_run_sh_runs_a_second_shell_gets_its_settings_and_servers_with_no_export(tmp_path, run_sh):
    write_record(
        tmp_path,
        run_sh.pid,
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL="postgres://postgres@127.0.0.1:54501/sequora",
        REDIS_URL="redis://127.0.0.1:63501/0",
        PUBLIC_BASE_URL="http://127.0.0.1:8101",
    )

    result = run(sys.executable, "manage.py", "shell", "-c", SHOW_SETTINGS, run_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [
        "config.settings.local",
        "54501",
        "sequora",
        "redis://127.0.0.1:63501/0",
        "http://127.0.0.1:8101",
    ]


def test_an_export_wins_over_the_record(tmp_path, run_sh):
    write_record(tmp_path, run_sh.pid, DJANGO_SETTINGS_MODULE="config.settings.local", DATABASE_URL="postgres://h/a")

    result = run(
        sys.executable, "manage.py", "shell", "-c", SHOW_SETTINGS, run_dir=tmp_path,
        settings="config.settings.test", DATABASE_URL="postgres://postgres@127.0.0.1:5999/mine",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split()[:3] == ["config.settings.test", "5999", "mine"]


def test_the_record_of_a_run_sh_that_is_gone_counts_for_nothing(tmp_path):
    gone = subprocess.Popen(["bash", "-c", "exit 0", "scripts/run.sh"])  # noqa: S607
    gone.wait()
    write_record(tmp_path, gone.pid, DJANGO_SETTINGS_MODULE="config.settings.local")

    result = run(sys.executable, "manage.py", "check", run_dir=tmp_path)

    assert (result.returncode, result.stderr.strip()) == (3, MESSAGE)


def test_without_a_record_the_embedded_servers_are_found_on_their_moved_ports(tmp_path):
    result = run(
        sys.executable, "manage.py", "shell", "-c", SHOW_SETTINGS, run_dir=tmp_path,
        settings="config.settings.local", SEQUORA_PG_PORT="54777", SEQUORA_REDIS_PORT="63777",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split()[1:4] == ["54777", "sequora", "redis://127.0.0.1:63777/0"]
