"""The short chaos run in CI: `python -m chaos kill_worker redis_flushall broker_down redis_restart_empty --short`
(chaos/run.py) on private servers it starts itself (PostgreSQL and Redis on 127.0.0.1:64402 and :63902, data in
.run/lab-ci), real gunicorn, two real workers and Beat. Each scenario streams escalations and discharges through the
API, kills both workers (or flushes Redis, takes the broker away for 10 s, or restarts Redis empty) while SLA and
check-in timers come due, and must end with nothing lost, doubled or stuck."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SCENARIOS = ["kill_worker", "redis_flushall", "broker_down", "redis_restart_empty"]

pytestmark = [pytest.mark.worker, pytest.mark.chaos, pytest.mark.timeout(1500)]


def test_short_chaos_run_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    env = {
        **os.environ,
        "SEQUORA_LAB_PG_PORT": os.environ.get("SEQUORA_CI_LAB_PG_PORT", "64402"),
        "SEQUORA_LAB_REDIS_PORT": os.environ.get("SEQUORA_CI_LAB_REDIS_PORT", "63902"),
        "SEQUORA_LAB_RUN_DIR": str(ROOT / ".run" / "lab-ci"),
    }
    run = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "chaos", *SCENARIOS, "--short", "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1400,
    )
    assert out.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads(out.read_text())
    assert [r["scenario"] for r in results] == SCENARIOS
    for result in results:
        damage = {
            name: result[name]
            for name in (
                "never_accepted",
                "lost",
                "sent_twice",
                "timers_unfired",
                "timers_fired_twice",
                "undispatched",
                "pending_notifications",
            )
        }
        assert set(damage.values()) == {0}, (result["scenario"], damage, result["lost_detail"])
        # The stream really ran and the provider really heard from the workers.
        assert result["accepted"]["escalation"] > 0 and result["accepted"]["discharge"] > 0
        assert result["twilio_requests"] >= result["accepted"]["escalation"] + result["accepted"]["discharge"]
    assert run.returncode == 0, run.stdout[-3000:]
