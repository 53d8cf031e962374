"""Round-robin within a care team (CARE_TEAM_BY_FACILITY): a task goes only to its team's nurses, and teams do not
wait for each other's assignment lock (docs/scaling.md)."""

import datetime as dt

import psycopg
import pytest
import time_machine
from django.db import OperationalError, connection

from notifications.models import NotificationLog
from tasks_app.models import DEFAULT_CARE_TEAM, EscalationTask
from tasks_app.services.assignment import ROUND_ROBIN_LOCK, task_assign
from tasks_app.services.tasks import task_create
from tests.care_events.factories import EpisodeFactory
from tests.helpers import drain
from tests.tasks_app.factories import NurseFactory, NurseShiftFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("two_teams")]

T0 = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def two_teams(settings):
    settings.CARE_TEAM_BY_FACILITY = {"NORTH": "north"}


def on_shift(count, care_team):
    return [
        NurseShiftFactory(
            starts_at=T0 - dt.timedelta(hours=1),
            ends_at=T0 + dt.timedelta(hours=12),
            nurse__max_open_tasks=50,
            nurse__care_team=care_team,
        ).nurse
        for _ in range(count)
    ]


def new_task(facility):
    return task_create(episode=EpisodeFactory(facility=facility), severity="HIGH", reason_codes=["SOB"])


def test_a_task_takes_the_team_of_its_facility_and_goes_to_that_team_only():
    with time_machine.travel(T0, tick=True):
        north, rest = on_shift(2, "north"), on_shift(2, DEFAULT_CARE_TEAM)
        north_tasks = [new_task("NORTH") for _ in range(4)]
        other_tasks = [new_task("SOUTH") for _ in range(4)]
        drain()
    assert {t.care_team for t in north_tasks} == {"north"}
    assert {t.care_team for t in other_tasks} == {DEFAULT_CARE_TEAM}
    assigned = lambda tasks: sorted(EscalationTask.objects.get(pk=t.pk).assigned_to_id for t in tasks)  # noqa: E731
    assert assigned(north_tasks) == sorted([n.pk for n in north] * 2)
    assert assigned(other_tasks) == sorted([n.pk for n in rest] * 2)


def test_a_team_with_nobody_on_shift_alerts_its_own_charge_nurse():
    with time_machine.travel(T0, tick=True):
        on_shift(1, DEFAULT_CARE_TEAM)  # on shift, but in another team
        north_chief = NurseFactory(care_team="north", is_supervisor=True)
        NurseFactory(care_team=DEFAULT_CARE_TEAM, is_supervisor=True)
        task = new_task("NORTH")
        drain()
    assert EscalationTask.objects.get(pk=task.pk).assigned_to_id is None
    alerted = set(NotificationLog.objects.filter(task_id=task.pk).values_list("recipient_nurse_id", flat=True))
    assert alerted == {north_chief.pk}


@pytest.mark.django_db(transaction=True)
def test_teams_assign_in_parallel_while_another_team_holds_its_lock():
    """Another transaction is in the middle of choosing a north nurse (it holds north's round-robin lock): a task
    of the default team is assigned at once, instead of waiting behind one global lock."""
    db = connection.settings_dict
    with time_machine.travel(T0, tick=True):
        on_shift(1, "north")
        (nurse,) = on_shift(1, DEFAULT_CARE_TEAM)
        task = EscalationTask.objects.get(pk=new_task("SOUTH").pk)
        north_task = EscalationTask.objects.get(pk=new_task("NORTH").pk)
        with psycopg.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"]) as other:
            other.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [ROUND_ROBIN_LOCK, "north"])
            with connection.cursor() as cursor:  # waiting on a held lock would fail here instead of hanging
                cursor.execute("SET lock_timeout = '2s'")
            assert task_assign(task_id=task.pk) == nurse
            with pytest.raises(OperationalError, match="lock timeout"):  # north's own tasks do wait for it
                task_assign(task_id=north_task.pk)
            other.rollback()
    assert EscalationTask.objects.get(pk=north_task.pk).assigned_to_id is None
