"""gunicorn, started for real with config/gunicorn.py (as docker compose and scripts/run.sh start it), writes one
access-log line per request that names the path, never its query string."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_access_log_has_the_path_and_the_request_id_but_no_query_string(tmp_path):
    port, log = free_port(), tmp_path / "access.log"
    process = subprocess.Popen(  # noqa: S603
        [
            *(str(Path(sys.executable).with_name("gunicorn")), "-c", "config/gunicorn.py", "config.wsgi"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", str(log)),
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "gunicorn did not listen within 30 s"
                time.sleep(0.3)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/healthz?secret=x&token=abc",
            headers={"X-Forwarded-For": "198.51.100.7", "X-Request-ID": "req-42"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            assert response.status == 200
        deadline = time.monotonic() + 10
        while not log.exists() or "/healthz" not in log.read_text():
            assert time.monotonic() < deadline, "no access-log line"
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=20)

    lines = [line for line in log.read_text().splitlines() if "/healthz" in line]
    assert len(lines) == 1
    line = lines[0]
    assert '"GET /healthz HTTP/1.1" 200' in line
    assert "secret" not in line and "token" not in line and "?" not in line
    assert line.startswith("127.0.0.1 198.51.100.7 ")  # the connection's address, then the proxy's X-Forwarded-For
    assert line.endswith(" req-42")  # the request id every log line of the request carries
