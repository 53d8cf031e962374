"""The lock files pin every dependency with hashes and agree with pyproject.toml; scripts/audit.py fails on a known
vulnerability when an advisory source answers, and says plainly, without failing, when none can be asked. The
advisory source is the outside world: here a local fake of OSV's query API, which pip-audit is pointed at."""

import json
import re
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "requirements" / "lock.txt"
RUNTIME = ROOT / "requirements" / "runtime.txt"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", re.MULTILINE)


def pins(lock: Path) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PIN.findall(lock.read_text())}


def requirements(extra: str | None = None) -> list[Requirement]:
    project = PYPROJECT["project"]
    listed = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(line) for line in listed]


@pytest.mark.parametrize(("lock", "extras"), [(LOCK, ["dev"]), (RUNTIME, [])], ids=["lock", "runtime"])
def test_each_lock_pins_every_requirement_of_pyproject_within_its_bounds(lock, extras):
    pinned = pins(lock)
    wanted = requirements() + [r for extra in extras for r in requirements(extra)]
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in {lock.name}: run bash scripts/lock.sh"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock.name} pins {name}=={pinned[name]}, outside {requirement.specifier}: run bash scripts/lock.sh"
        )


@pytest.mark.parametrize("lock", [LOCK, RUNTIME], ids=["lock", "runtime"])
def test_every_locked_release_carries_its_hashes(lock):
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text())
    releases = [entry for entry in entries if re.match(r"[A-Za-z0-9_.-]+==", entry)]
    assert len(releases) == len(pins(lock)) > 20
    for entry in releases:
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), entry.splitlines()[0]


def test_the_runtime_lock_is_the_dev_lock_without_the_dev_tools():
    runtime, dev = pins(RUNTIME), pins(LOCK)
    assert {name: dev.get(name) for name in runtime} == runtime
    assert "pytest" in dev and "pytest" not in runtime


def test_the_readme_commands_and_the_image_install_from_the_locks():
    install = (ROOT / "scripts/install.sh").read_text()
    assert "--require-hashes -r requirements/lock.txt" in install
    assert re.search(r"pip install .*--no-deps .*-e \.$", install, re.MULTILINE)
    for script in ("scripts/test.sh", "scripts/run.sh"):
        assert re.search(r"^bash scripts/install\.sh$", (ROOT / script).read_text(), re.MULTILINE), script
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/runtime.txt" in dockerfile
    assert "scripts/audit.py requirements/lock.txt" in (ROOT / "scripts/test.sh").read_text()


# --- scripts/audit.py against a fake advisory source ---------------------------------------------------------


class FakeOsv(BaseHTTPRequestHandler):
    """OSV's POST /v1/query: `known` maps a package name to the vulnerabilities it reports for any version."""

    known: dict[str, list[dict]] = {}

    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        vulns = self.known.get(query["package"]["name"], [])
        body = json.dumps({"vulns": vulns} if vulns else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def osv() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOsv)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    server.shutdown()
    FakeOsv.known = {}


@pytest.fixture
def small_lock(tmp_path) -> Path:
    """Two releases taken from the real lock, with their hashes (pip-audit reads the pins; it installs nothing)."""
    text = LOCK.read_text()
    entries = [
        re.search(rf"^{name}==.*?(?=\n[a-z])", text, re.MULTILINE | re.DOTALL)[0] for name in ("django", "gunicorn")
    ]
    lock = tmp_path / "lock.txt"
    lock.write_text("\n".join(entries) + "\n")
    return lock


def audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "scripts" / "audit.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_audit_fails_naming_a_known_vulnerability(osv, small_lock):
    FakeOsv.known = {
        "django": [
            {
                "id": "PYSEC-2099-1",
                "summary": "SQL injection",
                "affected": [
                    {
                        "package": {"name": "django", "ecosystem": "PyPI"},
                        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}],
                    }
                ],
            }
        ]
    }

    result = audit(str(small_lock), "--source", "osv", "--osv-url", osv)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"django {pins(LOCK)['django']}: PYSEC-2099-1 (fixed in 99.0)" in result.stdout
    assert "gunicorn" not in result.stdout


def test_the_audit_passes_when_the_source_knows_no_vulnerability(osv, small_lock):
    result = audit(str(small_lock), "--source", "osv", "--osv-url", osv)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "pip-audit (osv): no known vulnerability in 2 locked releases"


def test_an_unreachable_source_fails_the_audit_in_one_plain_line(small_lock):
    """Issue 19 row 15: the audit passed when no advisory source answered. It fails now (exit 3), unless told the
    machine has no network (--allow-unaudited), which keeps the same line."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    args = (str(small_lock), "--source", "osv", "--osv-url", f"http://127.0.0.1:{closed}/v1/query")
    line = (
        "pip-audit: the audit could not run, no advisory source answered (osv: 127.0.0.1 unreachable "
        "(NewConnectionError))"
    )

    result = audit(*args)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.splitlines() == [line]

    allowed = audit(*args, "--allow-unaudited")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert allowed.stdout.splitlines() == [line]
