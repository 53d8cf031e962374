"""The README's first minutes, for real: `bash scripts/run.sh` in a fresh copy of the checkout, its embedded servers
moved to other ports (SEQUORA_PG_PORT, SEQUORA_REDIS_PORT, given to run.sh only), prints one banner once every
process answers; then, in a second shell with nothing exported, `manage.py demo` plays its story against that
product and `manage.py show_totp admin` shows the admin's QR code again; a second run.sh is refused; Ctrl-C stops
everything and removes the record.

The copy shares this checkout's .venv (installed first, so that the copy's run.sh installs nothing) and keeps its
.run/ in a short path of its own (PostgreSQL's socket lives in it, and a socket's path is limited to 107 bytes)."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.worker import wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.worker, pytest.mark.timeout(1200)]
# A shell of the machine, with none of the project's variables (nor the test suite's) exported.
SHELL = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER") if name in os.environ}


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [int(sock.getsockname()[1]) for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def clone() -> Iterator[Path]:
    """A fresh copy of the checkout's files (tracked, and new ones git does not ignore), sharing its .venv."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout, to copy the checkout's files")
    subprocess.run(["bash", "scripts/install.sh"], cwd=ROOT, check=True)  # noqa: S607
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    directory = Path(tempfile.mkdtemp(prefix="sq-"))
    for name in filter(None, listed.decode().split("\0")):
        if (ROOT / name).is_file():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, directory / name)
    (directory / ".venv").symlink_to(ROOT / ".venv")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


class Terminal:
    """run.sh's terminal: its output, read as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process, self.lines = process, []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not re.search(pattern, self.text(), re.MULTILINE):
            assert self.process.poll() is None, f"run.sh ended ({self.process.returncode}):\n{self.text()}"
            assert time.monotonic() < deadline, f"no {pattern!r} within {seconds} s:\n{self.text()}"
            time.sleep(0.5)


def second_shell(clone: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [".venv/bin/python", *command], cwd=clone, env=SHELL, capture_output=True, text=True, timeout=300, check=False
    )


def test_a_second_shell_with_no_export_reaches_the_product_run_sh_runs_on_moved_ports(clone):
    pg, redis, web, flower, mllp = free_ports(5)
    server_start = {
        **SHELL,
        "SEQUORA_PG_PORT": str(pg),
        "SEQUORA_REDIS_PORT": str(redis),
        "PORT": str(web),
        "FLOWER_PORT": str(flower),
        "MLLP_PORT": str(mllp),
        "CHECKIN_DELAY": "3",
        "CHECKIN_RESPONSE_WINDOW": "60",
        "QUIET_HOURS_START": "0",
        "QUIET_HOURS_END": "0",
    }
    run = subprocess.Popen(
        ["bash", "scripts/run.sh"],  # noqa: S607
        cwd=clone, env=server_start, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group, which Ctrl-C signals
    )  # fmt: skip
    terminal = Terminal(run)
    try:
        terminal.wait_for(r"^  Logs: ", seconds=900)
        banner_at = len(terminal.lines)
        banner = terminal.text()
        assert banner.count("Sequora is running") == 1
        assert f"http://127.0.0.1:{web}/admin/   user admin, password " in banner
        assert f"http://127.0.0.1:{flower}/   user admin, password " in banner
        assert f"mllp://127.0.0.1:{mllp} (HL7 v2)" in banner
        wait_until(lambda: port_open(mllp), timeout=60, what="the MLLP listener")
        # The first run's QR code, and how to see it again.
        assert "█" in banner and "manage.py show_totp admin" in banner
        assert ".run/logs/" in banner and "Traceback" not in banner
        assert f"PUBLIC_BASE_URL=http://127.0.0.1:{web}\n" in (clone / ".run" / "product.env").read_text()

        demo = second_shell(clone, "manage.py", "demo", "--resolve", "--checkin-delay", "3", "--timeout", "60")
        shown = second_shell(clone, "manage.py", "show_totp", "admin")
        again = subprocess.run(
            ["bash", "scripts/run.sh"],  # noqa: S607
            cwd=clone, env={**server_start, "PORT": "1", "FLOWER_PORT": "2"}, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip

        assert demo.returncode == 0, demo.stdout + demo.stderr + terminal.text()
        assert f"against http://127.0.0.1:{web}," in demo.stdout
        assert "Story complete in" in demo.stdout
        assert not re.search(r"^\d{4}-\d\d-\d\d ", demo.stdout + demo.stderr, re.MULTILINE)  # no log line in it
        assert shown.returncode == 0, shown.stderr
        assert (clone / ".run" / "admin-totp").read_text().strip() in shown.stdout
        assert again.returncode == 1
        assert f"error: Sequora already runs from this directory (scripts/run.sh, pid {run.pid})" in again.stderr
        # The run terminal stayed quiet meanwhile: nothing after the banner.
        assert terminal.lines[banner_at:] == [], terminal.text()
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGINT)  # Ctrl-C
        run.wait(timeout=120)

    assert not (clone / ".run" / "product.env").exists()
    assert not any(port_open(port) for port in (pg, redis, web, flower, mllp)), terminal.text()
