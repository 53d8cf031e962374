"""`manage.py seed_history`: a history written in bulk that starts no live work, and whose figures agree with the
same figure counted row by row in Python."""

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from care_events.models import Episode, InteractionResponse, OutreachAttempt
from care_events.platform.bus.models import Event, Timer
from notifications.models import NotificationLog
from reports import figures
from reports.business_days import FacilityCalendar, end_of_day
from reports.figures import ReportFilters
from tasks_app.care_team import care_team_time
from tasks_app.models import OPEN_TASK_STATUSES, EscalationTask, NurseShift, TaskNote

pytestmark = pytest.mark.django_db


def test_seed_history_writes_a_closed_history_and_schedules_nothing():
    out = io.StringIO()
    call_command("seed_history", discharges=80, days=40, nurses=6, stdout=out)

    assert "Wrote 80 discharges over 40 days" in out.getvalue()
    # Each readmission is a stay of its own, and the feed's mark on the stay before it.
    readmissions = int(re.search(r"(\d+) readmissions", out.getvalue()).group(1))
    assert readmissions > 0
    assert Episode.objects.count() == 80 + readmissions
    assert Episode.objects.exclude(readmission=None).count() == readmissions
    assert not Episode.objects.filter(visit_number="").exists()  # every stay came through the feed
    assert EscalationTask.objects.count() > 80
    assert not EscalationTask.objects.filter(status__in=OPEN_TASK_STATUSES).exists()
    assert NurseShift.objects.count() > 6 * 40 * 5 // 7 - 12
    assert not Event.objects.exists() and not Timer.objects.exists() and not NotificationLog.objects.exists()
    # The moments given are kept (bulk_create would stamp auto_now_add fields with the present).
    a_week_ago = timezone.now() - dt.timedelta(days=7)
    assert InteractionResponse.objects.filter(received_at__lt=a_week_ago).exists()
    assert EscalationTask.objects.filter(created_at__lt=a_week_ago).exists()


def _reached_in_time_by_hand(filters: ReportFilters, now: dt.datetime) -> tuple[int, int]:
    """The TCM figure counted episode by episode through the ORM (the definition in docs/reports.md)."""
    counted = in_time = 0
    calendar = FacilityCalendar("GENERAL", first_year=filters.first_day.year - 1, last_year=filters.last_day.year)
    for episode in Episode.objects.filter(discharged_at__gte=filters.since, discharged_at__lt=filters.until):
        deadline = end_of_day(calendar.tcm_last_day(care_team_time(episode.discharged_at).date()))
        moments = [
            *InteractionResponse.objects.filter(interaction__episode=episode).values_list("received_at", flat=True),
            *OutreachAttempt.objects.filter(plan__episode=episode)
            .exclude(answered_at=None)
            .values_list("answered_at", flat=True),
            *TaskNote.objects.filter(task__episode=episode, call_outcome__startswith="SPOKE").values_list(
                "created_at", flat=True
            ),
        ]
        first = min((m for m in moments if m >= episode.discharged_at), default=None)
        if deadline <= now or first is not None:
            counted += 1
            in_time += first is not None and first < deadline
    return counted, in_time


def test_the_tcm_figure_agrees_with_counting_the_rows_by_hand():
    call_command("seed_history", discharges=150, days=60, nurses=6, stdout=io.StringIO())
    now = timezone.now()
    today = care_team_time(now).date()
    filters = ReportFilters(today - dt.timedelta(days=60), today)

    rows = figures.tcm_weekly(filters, now).rows

    assert (sum(row[1] for row in rows), sum(row[2] for row in rows)) == _reached_in_time_by_hand(filters, now)
    assert 0 < sum(row[2] for row in rows) < sum(row[1] for row in rows)  # some reached in time, some not
    assert any(n for _, n in figures.breaches_by_hour(filters, now).rows)
