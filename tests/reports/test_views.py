"""The Reports page and the monthly summary: who may open them, their filters, bad input, CSV, the audit row."""

import csv
import io

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from care_events.platform.audit.models import AuditEntry
from care_events.platform.roles import CHARGE_NURSE, NURSE, NURSE_MANAGER
from tests.helpers import force_admin_login
from tests.reports.fixture import CLOSURES, NOW, make_history
from tests.tasks_app.factories import nurse_with_login

pytestmark = pytest.mark.django_db

REPORTS = reverse("admin:reports")
MONTHLY = reverse("admin:reports_monthly")
NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}


@pytest.fixture(autouse=True)
def _calendar(settings):
    settings.CARE_TEAM_TIME_ZONE = "America/New_York"
    settings.REPORTS_FACILITY_HOLIDAYS = {"GENERAL": "US"}
    settings.REPORTS_CLOSURES = CLOSURES


@pytest.fixture
def manager() -> Client:
    return force_admin_login(Client(), nurse_with_login(role=NURSE_MANAGER, on_shift=False).user)


@pytest.mark.parametrize("role", [CHARGE_NURSE, NURSE_MANAGER])
def test_charge_nurses_and_managers_open_the_reports(role):
    client = force_admin_login(Client(), nurse_with_login(role=role, on_shift=False).user)
    assert client.get(REPORTS).status_code == 200
    assert client.get(MONTHLY).status_code == 200
    assert 'href="/admin/reports/"' in client.get(reverse("admin:index")).content.decode()


def test_a_nurse_is_refused_in_words():
    client = force_admin_login(Client(), nurse_with_login(role=NURSE, on_shift=False).user)
    response = client.get(REPORTS)
    assert response.status_code == 403
    assert "not part of your role" in response.content.decode()
    assert client.get(MONTHLY).status_code == 403


def test_the_page_draws_each_figure_with_its_table_and_names_the_patients_missed(manager):
    make_history()
    with time_machine.travel(NOW, tick=False):
        response = manager.get(REPORTS, NOVEMBER)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('role="img"') == 8  # every section but the two lists (missed, per nurse) and readmissions
    assert page.count("<title id=") == 8
    assert "Friday-Late" in page and "Thanksgiving-Late" in page and "Friday-In-Time" not in page
    assert "<strong>No data.</strong>" in page  # readmissions, until the ADT feed marks them
    assert "csv=tcm" in page


def test_the_audit_row_names_the_patients_the_page_shows(manager):
    make_history()
    with time_machine.travel(NOW, tick=False):
        manager.get(REPORTS, NOVEMBER)
    row = AuditEntry.objects.filter(route="admin:reports").get()
    assert row.action == "admin.list"
    assert len(row.patient_ids) == 3  # Never-Reached, Friday-Late, Thanksgiving-Late


def test_the_page_lists_the_most_recent_patients_missed_and_the_csv_has_them_all(manager, monkeypatch):
    monkeypatch.setattr("reports.sections.MISSED_SHOWN", 2)
    make_history()
    with time_machine.travel(NOW, tick=False):
        page = manager.get(REPORTS, NOVEMBER).content.decode()
        csv_text = manager.get(REPORTS, {**NOVEMBER, "csv": "tcm-missed"}).content.decode()
    assert "Thanksgiving-Late" in page and "Friday-Late" in page and "Never-Reached" not in page
    assert "The 2 most recent shown; 1 more in the CSV." in page
    assert "Never-Reached" in csv_text
    page_row, csv_row = AuditEntry.objects.filter(route="admin:reports").order_by("id")
    assert len(page_row.patient_ids) == 2
    assert len(csv_row.patient_ids) == 3  # the CSV names all three


def test_a_table_downloads_as_csv(manager):
    make_history()
    with time_machine.travel(NOW, tick=False):
        response = manager.get(REPORTS, {**NOVEMBER, "csv": "tcm"})
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="tcm-2026-11-01-2026-11-30.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Week of", "Discharges counted", "Reached in time", "Share reached (%)", "Not yet due"]
    assert rows[1] == ["2026-11-02", "4", "2", "50.0", "0"]
    with time_machine.travel(NOW, tick=False):
        missed = manager.get(REPORTS, {**NOVEMBER, "csv": "tcm-missed"})
    assert "2026-11-06 14:00" in missed.content.decode()  # the care team's time, not UTC


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-13-01"}, "start"),
        ({"start": "2026-11-30", "end": "2026-11-01"}, "start"),
        ({"start": "2024-01-01", "end": "2026-11-01"}, "start"),
        ({"team": "nobody-team"}, "team"),
        ({"facility": "NOWHERE"}, "facility"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(manager, query, field):
    response = manager.get(REPORTS, query)
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {field}


def test_an_unknown_csv_table_is_a_400(manager):
    response = manager.get(REPORTS, {"csv": "secrets"})
    assert response.status_code == 400
    assert b"csv" in response.content


def test_the_monthly_summary_has_one_section_per_care_team(manager, settings):
    settings.CARE_TEAM_BY_FACILITY = {"GENERAL": "north"}
    make_history()
    with time_machine.travel(NOW, tick=False):
        response = manager.get(MONTHLY, {"month": "2026-11"})
        assert manager.get(MONTHLY, {"month": "2026-13"}).status_code == 400
    page = response.content.decode()
    assert response.status_code == 200
    assert "November 2026: care team default" in page and "November 2026: care team north" in page
    assert page.count("Friday-Late") == 1  # north's facility; default has none of these patients
