"""The chaos suite: real HTTP, real workers and Beat, one fault injected mid-stream, then a count of the damage.

    .venv/bin/python -m chaos all [--short]          # every scenario, one after the other
    .venv/bin/python -m chaos kill_worker [--short]  # one (or several) by name; `--list` names them

Each scenario, on the lab's own PostgreSQL and Redis (bench/lab.py; it kills, wipes and restarts them): two Celery
worker processes (concurrency 2) and Beat, gunicorn serving the API on a free local port, and the fake Twilio
(tests/notifications/fake_twilio.py) as the SMS provider. A client thread streams escalations (a HIGH response to
an interaction, POST interactions/{id}/responses/) and discharges (POST episodes/{id}/discharge/) through the API,
each request with an Idempotency-Key and retried, as a careful client does, until it is accepted. Tasks whose SLA
warning and breach fall inside the fault window are created just before it, and every discharge's check-in timer
(CHECKIN_DELAY 3 s) and no-answer timer (8 s) come due during it too. The fault is injected a third of the way in
and undone; the system recovers by itself; then the count, from PostgreSQL and from the fake Twilio's request log:

- lost: an accepted escalation without its task or without the nurse's TASK_ASSIGNED message, a discharge without
  its check-in SMS, an SLA task without its warning and breach messages, a notification never sent;
- sent twice: a Twilio request whose message SID no log row holds, or two requests with the same recipient and body;
- timers unfired (due, neither fired nor cancelled) or fired twice (claimed more than once);
- undispatched: a handler run that is not SUCCEEDED (the poison scenario's own run is reported apart);
- the worst delay: accepted response → nurse's message sent, and timer due → fired.

Exits 1 if any scenario lost, doubled or left anything undispatched. Results are printed, and written as JSON to
.run/lab/chaos.json (or --json PATH).

This module plays the scenarios and prints the table; the parts are chaos/lab.py (the product on the lab's servers),
stream.py (the load through the API), faults.py (the faults and the scenarios naming them) and count.py (the damage).
"""

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The root goes on sys.path first.
from bench.lab import Servers, lab_start, say  # noqa: E402
from chaos.count import Result, count, missing, settled_twice, summary  # noqa: E402
from chaos.faults import SCENARIOS  # noqa: E402
from chaos.lab import Lab, broker_reconnect  # noqa: E402
from chaos.stream import FULL, SHORT, Size, Stream, sla_tasks  # noqa: E402


def run_scenario(name: str, lab: Lab, size: Size) -> Result:
    from care_events.platform.bus.models import HandlerRun
    from chaos.poison import POISON_EVENT, AttemptWatch

    fault = SCENARIOS[name]
    say(f"\n== {name}: {fault.description}")
    result = Result(name)
    lab.start(isolated=fault.isolated)
    from tests.tasks_app.factories import NurseShiftFactory

    for n in range(10):
        NurseShiftFactory(nurse__max_open_tasks=10_000, nurse__is_supervisor=n == 0)
    stream = Stream(lab, size)
    stream.prepare()
    stream.start()
    time.sleep(size.seconds / 3)
    # SLA stages due inside the fault window: the warning 1 s in, the breach at its end (at least 2 s in).
    sla_tasks(size.sla_tasks, 1.5, max(fault.hold, 2) + 1.5)
    fault_at = time.monotonic()
    say(f"   fault at {size.seconds / 3:.0f} s into the stream")
    watch = AttemptWatch().start() if name == "poison" else None
    fault.inject(lab)
    for fraction, step in fault.steps:
        time.sleep(max(0.0, fault_at + fraction * fault.hold - time.monotonic()))
        step(lab)
    time.sleep(max(0.0, fault_at + fault.hold - time.monotonic()))
    fault.undo(lab)
    from django.db import connections

    connections.close_all()  # after a PostgreSQL restart this process's connection is gone too
    broker_reconnect()
    say(f"   undone after {time.monotonic() - fault_at:.1f} s")
    stream.join()
    say(f"   stream done: {len(stream.accepted)} accepted, errors {dict(stream.errors)}")
    # Every run of the poison events: the product's own handler of that event (webhook-patient-replied) fails on
    # their made-up ids as the poison does.
    poison_runs = set(HandlerRun.objects.filter(event__name=POISON_EVENT).values_list("pk", flat=True))
    stream_end = time.monotonic()
    deadline = stream_end + size.settle
    while time.monotonic() < deadline and not settled_twice(stream, poison_runs):
        time.sleep(1)
    if not settled_twice(stream, poison_runs):
        # Not done within the window: say what was still undone then and how much work was queued, and give it
        # twice as long again before counting what is lost for good.
        result.late_at_deadline = len(missing(stream))
        queues = ("urgent", "default", "delivery", "push", "backstop")
        by_queue = {q: int(lab.stack.broker.llen(q)) for q in queues}
        result.queued_at_deadline = sum(by_queue.values())
        say(f"   not settled {size.settle:.0f} s after the stream: {result.late_at_deadline} effects missing, "
            f"{result.queued_at_deadline} messages queued {by_queue}; waiting longer")  # fmt: skip
        deadline = time.monotonic() + 2 * size.settle
        while time.monotonic() < deadline and not settled_twice(stream, poison_runs):
            time.sleep(1)
    if settled_twice(stream, poison_runs):
        result.settled_after_s = round(time.monotonic() - stream_end, 1)
    time.sleep(2)  # a last straggler (a duplicate) would show now
    count(result, lab, stream, poison_runs)
    if watch is not None:
        watch.stop()
        result.retries_too_close = len(watch.too_close())
        result.notes.append(f"poison attempts' spacing: {watch.spacing()}")
    if poison_runs:
        runs = list(HandlerRun.objects.filter(pk__in=poison_runs).values_list("status", "attempts"))
        result.notes.append(
            f"poison runs: {Counter(s for s, _ in runs)} after {min(a for _, a in runs)}-{max(a for _, a in runs)} "
            "attempts (8 attempts with backoff take about 21 minutes to FAILED); the stream around them was not held up"
        )
    say(f"   {summary(result)}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", help=f"'all' or any of: {', '.join(SCENARIOS)}")
    parser.add_argument("--short", action="store_true", help="small numbers (CI)")
    parser.add_argument("--list", action="store_true", help="name the scenarios and exit")
    parser.add_argument("--json", type=Path, help="where to write the results")
    args = parser.parse_args(argv)
    if args.list or not args.scenarios:
        for name, fault in SCENARIOS.items():
            print(f"{name:22} {fault.description}")
        return 0
    names = list(SCENARIOS) if args.scenarios == ["all"] else args.scenarios
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    size = SHORT if args.short else FULL
    servers = Servers()
    say(f"lab: PostgreSQL 127.0.0.1:{servers.pg_port}, Redis 127.0.0.1:{servers.redis_port}, data in {servers.run_dir}")
    results: list[Result] = []
    lab = Lab(servers)
    started = time.monotonic()
    try:
        lab_start(servers)
        import chaos.poison  # noqa: F401 - registers the poison handler in this process, which emits its event

        for name in names:
            results.append(run_scenario(name, lab, size))
    finally:
        lab.stop()
        servers.down()
    say(
        f"\n{'scenario':22} | lost | twice | unfired | fired 2x | undispatched | worst delay | timer lateness | "
        "slowest answer | after closed | warn after breach | retries too close | ok"
    )
    for r in results:
        say(f"{r.scenario:22} | {r.lost:4} | {r.sent_twice:5} | {r.timers_unfired:7} | {r.timers_fired_twice:8} | "
            f"{r.undispatched + r.pending_notifications:12} | {r.worst_delay_s:9.1f} s | "
            f"{r.worst_timer_lateness_s:12.1f} s | {r.slowest_answer_s:12.1f} s | {r.alerts_after_resolution:12} | "
            f"{r.warnings_after_breach:17} | {r.retries_too_close:17} | {'yes' if r.clean else 'NO'}")  # fmt: skip
    say(f"({time.monotonic() - started:.0f} s, {'short' if args.short else 'full'} sizes: {asdict(size)})")
    out = args.json or servers.run_dir / "chaos.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([asdict(r) | {"clean": r.clean} for r in results], indent=2))
    return 0 if all(r.clean for r in results) else 1
