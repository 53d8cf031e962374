"""Audits a lock file for dependencies with known vulnerabilities (pip-audit), as scripts/test.sh and CI do:

    .venv/bin/python scripts/audit.py requirements/lock.txt requirements/runtime.txt

Exit status 1, naming each vulnerable release, its advisories and the versions that fix it, when an advisory
source answered and knows a vulnerability. When no source can be asked (no network, a proxy that hides them), it
prints one line saying the audit could not run and why, and exits 3: an audit that did not run has not passed. On a
machine without network, `--allow-unaudited` makes that line a warning and the exit 0 (scripts/test.sh passes it
unless AUDIT_REQUIRED=1, so the README's test command runs on a machine without a route to the sources). Any
other failure of pip-audit (an unreadable lock file) exits 2 with pip-audit's error.

The advisory sources are tried in turn: OSV (api.osv.dev), then PyPI's JSON API (pypi.org). A source that is
unreachable, or that knows none of the locked releases, does not count as having answered.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PIP_AUDIT = Path(sys.executable).with_name("pip-audit")
SOURCES = ("osv", "pypi")
# What pip-audit's error output says when it could not reach a source (requests' and urllib3's exceptions).
UNREACHABLE = (
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "NameResolutionError",
    "Max retries exceeded",
    "Failed to resolve",
    "Connection refused",
    "Could not connect",
    "ServiceError",
)


@dataclass
class Audit:
    """What one source said about the lock files, or why it could not say."""

    source: str
    vulnerable: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    audited: int = 0
    unreachable: str = ""


def run_pip_audit(locks: list[Path], source: str, osv_url: str | None, timeout: int) -> Audit:
    with tempfile.TemporaryDirectory() as work:
        report = Path(work) / "report.json"
        command = [str(PIP_AUDIT), "--require-hashes", "--disable-pip", "--progress-spinner", "off"]
        command += ["--format", "json", "--output", str(report), "--vulnerability-service", source]
        command += ["--timeout", str(timeout), "--cache-dir", str(Path(work) / "cache")]
        if osv_url:
            command += ["--osv-url", osv_url]
        for lock in locks:
            command += ["--requirement", str(lock)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if not report.exists():
            errors = [line.strip() for line in result.stderr.splitlines() if line.strip()]
            reason = errors[-1] if errors else f"pip-audit exited with status {result.returncode}"
            if any(marker in result.stderr for marker in UNREACHABLE):
                host = re.search(r"host='([^']+)'", result.stderr)
                cause = re.findall(r"Caused by (\w+)|(\w+(?:Error|Timeout))", result.stderr)
                names = [name for pair in cause for name in pair if name]
                where = host[1] if host else "the source"
                return Audit(source, unreachable=f"{where} unreachable ({names[-1] if names else reason[:200]})")
            sys.stderr.write(result.stderr)
            print(f"error: pip-audit failed: {reason}", file=sys.stderr)
            raise SystemExit(2)
        dependencies = json.loads(report.read_text())["dependencies"]

    audit = Audit(source)
    for dependency in dependencies:
        release = f"{dependency['name']} {dependency.get('version', '')}".strip()
        if "skip_reason" in dependency:
            audit.skipped.append(release)
            continue
        audit.audited += 1
        for vuln in dependency.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            audit.vulnerable.append(f"{release}: {vuln['id']} (fixed in {fixes})")
    if not audit.audited and audit.skipped:
        audit.unreachable = f"it knows none of the {len(audit.skipped)} locked releases (a mirror without its API?)"
    return audit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("locks", nargs="+", type=Path, help="hashed lock files (requirements/*.txt)")
    parser.add_argument("--source", action="append", choices=SOURCES, help="advisory sources, in order")
    parser.add_argument("--osv-url", help="OSV's query API, if not https://api.osv.dev/v1/query")
    parser.add_argument("--timeout", type=int, default=15, help="seconds to wait for a source")
    parser.add_argument(
        "--allow-unaudited", action="store_true", help="exit 0 when no source answers (a machine without network)"
    )
    args = parser.parse_args()

    reasons = []
    for source in args.source or SOURCES:
        audit = run_pip_audit(args.locks, source, args.osv_url, args.timeout)
        if audit.unreachable:
            reasons.append(f"{source}: {audit.unreachable}")
            continue
        if audit.vulnerable:
            print(f"pip-audit ({source}): {len(audit.vulnerable)} known vulnerabilities in the locked releases:")
            for line in audit.vulnerable:
                print(f"  {line}")
            print("Raise the floor in pyproject.toml (or the package's pin) and run: bash scripts/lock.sh")
            return 1
        skipped = f"; not audited: {', '.join(audit.skipped)}" if audit.skipped else ""
        print(f"pip-audit ({source}): no known vulnerability in {audit.audited} locked releases{skipped}")
        return 0
    print(f"pip-audit: the audit could not run, no advisory source answered ({'; '.join(reasons)})")
    return 0 if args.allow_unaudited else 3


if __name__ == "__main__":
    raise SystemExit(main())
