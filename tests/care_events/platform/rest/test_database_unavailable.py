"""The database too slow or out of reach is a 503 that says so: `service_unavailable` with Retry-After in the API's
envelope, a plain 503 page on the screens; never a 500, and never masked as `audit_unavailable`. The failures are
real PostgreSQL ones: a statement cancelled by `statement_timeout` (an OperationalError, as a connect or TCP
timeout is); the black-holed database itself is tests/test_worker_database_black_hole.py."""

import psycopg
import pytest
from django.db import connection
from django.test import Client

from care_events.platform.audit.models import AuditEntry
from tests.api.conftest import client_for
from tests.api.factories import AdministratorFactory, AgentUserFactory
from tests.care_events.factories import PatientFactory
from tests.helpers import force_admin_login
from tests.tasks_app.factories import EscalationTaskFactory


@pytest.mark.django_db
def test_a_statement_timeout_on_the_audit_row_is_the_services_503_not_audit_unavailable():
    patient, client = PatientFactory(), client_for(AgentUserFactory())
    with connection.cursor() as cursor:  # every audit row takes 2 s to write; statements may take 0.3 s (rolled back)
        cursor.execute(
            "CREATE FUNCTION slow_audit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(2); RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER slow_audit BEFORE INSERT ON care_events_auditentry "
            "FOR EACH ROW EXECUTE FUNCTION slow_audit()"
        )
        cursor.execute("SET statement_timeout = 300")

    response = client.get(f"/api/v1/patients/{patient.pk}/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert patient.last_name not in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_screen_whose_query_times_out_gets_a_plain_503_page():
    EscalationTaskFactory()
    client = force_admin_login(Client(raise_request_exception=False), AdministratorFactory())
    db = connection.settings_dict
    # Another session holds the tasks' table: the admin list's SELECT waits on its lock until the statement timeout.
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=False
    ) as holder:
        holder.execute("LOCK TABLE tasks_app_escalationtask IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 500")
        try:
            entries = AuditEntry.objects.count()
            response = client.get("/admin/tasks_app/escalationtask/")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")
        holder.rollback()

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    assert b"Service unavailable" in response.content
    # The 503 showed nothing: no audit row for it, and no second wait on the database to try writing one.
    assert AuditEntry.objects.count() == entries
