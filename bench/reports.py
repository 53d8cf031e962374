"""The care-quality reports at a seeded year: each figure's query time and the Reports page's render time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything .venv/bin/python bench/reports.py \
        [--discharges 25000] [--days 365] [--runs 5] [--reseed]

It seeds a year (`manage.py seed_history`: by default 25,000 discharges, about 100,000 tasks) into its own database,
`sequora_reports_bench`, on the server of DATABASE_URL (kept between runs: --reseed writes it again), then runs every
figure of reports/figures.py and renders the page over the whole year `--runs` times, and prints the median and the
slowest of each, in milliseconds, with the row counts and the load average it ran under. The issue's promise: every
plot under 1 s (docs/reports.md#speed); it exits 1 when a plot's median is not.
"""

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "sequora_reports_bench"


def _urls(database_url: str) -> tuple[str, str]:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path=f"/{DB_NAME}")), urlunsplit(parts._replace(path="/postgres"))


def _prepare(*, discharges: int, days: int, reseed: bool) -> None:
    import psycopg

    bench_url, admin_url = _urls(os.environ["DATABASE_URL"])
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if reseed and exists:
            conn.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
        if reseed or not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    env = {**os.environ, "DATABASE_URL": bench_url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    env.setdefault("DATABASE_STATEMENT_TIMEOUT_MS", "0")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)  # noqa: S603 - our own manage.py
    os.environ.update(env)
    import django

    django.setup()
    from care_events.models import Episode

    if reseed or not Episode.objects.exists():
        started = time.monotonic()
        subprocess.run(  # noqa: S603
            [*manage, "seed_history", f"--discharges={discharges}", f"--days={days}"], cwd=ROOT, env=env, check=True
        )
        print(f"seeded in {time.monotonic() - started:.0f} s", flush=True)


def _timed(runs: int, work) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--discharges", type=int, default=25_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    _prepare(discharges=args.discharges, days=args.days, reseed=args.reseed)

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from care_events.models import Episode
    from care_events.platform.roles import CHARGE_NURSE, role_group
    from reports import figures
    from reports.figures import ReportFilters
    from tasks_app.care_team import care_team_time
    from tasks_app.models import EscalationTask

    now = timezone.now()
    today = care_team_time(now).date()
    year = ReportFilters(today - dt.timedelta(days=args.days), today)
    print(
        f"rows: {Episode.objects.count()} discharges, {EscalationTask.objects.count()} tasks; "
        f"{year.first_day} to {year.last_day}; {args.runs} runs each; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    functions = [
        figures.tcm_and_first_contact_weekly,
        figures.tcm_missed,
        figures.sla_compliance_weekly,
        figures.breaches_by_hour,
        figures.breaches_by_shift,
        figures.response_times_by_team,
        figures.response_times_by_nurse,
        figures.escalations_by_action,
        figures.escalations_by_outcome,
        figures.readmissions,
    ]
    slowest_plot = 0.0
    for function in functions:
        times = _timed(args.runs, lambda f=function: f(year, now))
        slowest_plot = max(slowest_plot, statistics.median(times))
        print(f"  {function.__name__:<30} median {statistics.median(times):7.1f} ms   max {max(times):7.1f} ms")

    # Through the whole stack, as a browser: a charge nurse's session with its second factor verified.
    user, _ = get_user_model().objects.get_or_create(username="reports-bench", defaults={"is_staff": True})
    user.groups.add(role_group(CHARGE_NURSE))
    device = TOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.create(user=user, name="bench")
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    query = {"start": year.first_day.isoformat(), "end": year.last_day.isoformat()}

    def render(asked: dict[str, str]) -> None:
        response = client.get("/admin/reports/", asked)
        assert response.status_code == 200, response.status_code

    for label, asked in (("the whole page (a year)", query), ("the page's default (12 weeks)", {})):
        times = _timed(args.runs, lambda asked=asked: render(asked))
        print(f"  {label:<30} median {statistics.median(times):7.1f} ms   max {max(times):7.1f} ms")
    verdict = "under" if slowest_plot < 1000 else "OVER"
    print(f"slowest plot (by its median) {slowest_plot:.0f} ms: {verdict} 1 s", flush=True)
    # The promise, asserted here rather than in a timed test; by the median, as one run on a shared machine
    # can stall behind other work (the slowest run is printed beside it).
    return 0 if slowest_plot < 1000 else 1


if __name__ == "__main__":
    sys.exit(main())
