"""Two real PostgreSQL roles (issue 19, row 5): `manage.py migrate` runs as the owner of the tables
(DATABASE_MIGRATE_URL) and grants the runtime role (DATABASE_URL) INSERT and SELECT only on the audit trail. Through
the runtime role's own connection the trail can be neither rewritten nor unguarded (its triggers dropped or
disabled, replication mode, DDL), and the product still does its work: a request writes its audit row.

The database here is made for the test, named as a production one is (not test_*); its roles are made by the script
docker compose runs on a new PostgreSQL volume (deploy/postgres-roles.sh), and it is migrated by the project's
`manage.py migrate` in a process of its own, with the two URLs a deployment sets."""

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[4]
pytestmark = pytest.mark.django_db


def _url(user: str, password: str, server: dict, dbname: str) -> str:
    return f"postgres://{user}:{password}@{server['host']}:{server['port']}/{dbname}"


@pytest.fixture(scope="module")
def two_roles(django_db_blocker):
    """A database owned by a migrations role, migrated by `manage.py migrate` with DATABASE_MIGRATE_URL; the runtime
    role logs in with DATABASE_URL. Both roles are plain (no superuser, no CREATEDB, no CREATEROLE)."""
    with django_db_blocker.unblock():
        settings = connection.settings_dict
    server = {"host": settings["HOST"] or "127.0.0.1", "port": settings["PORT"] or 5432}
    suffix = uuid.uuid4().hex[:10]
    owner, runtime, dbname = f"sequora_owner_{suffix}", f"sequora_app_{suffix}", f"audit_roles_{suffix}"
    password = uuid.uuid4().hex
    maintenance = psycopg.connect(
        host=server["host"],
        port=server["port"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    # As the postgres image does on a new volume: POSTGRES_DB made by the superuser, then the init script.
    maintenance.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(dbname)))
    init = {
        **os.environ,
        "PGHOST": str(server["host"]),
        "PGPORT": str(server["port"]),
        "PGPASSWORD": settings["PASSWORD"] or "",
        "POSTGRES_USER": settings["USER"],
        "POSTGRES_DB": dbname,
        "DATABASE_OWNER_ROLE": owner,
        "DATABASE_OWNER_PASSWORD": password,
        "DATABASE_APP_ROLE": runtime,
        "DATABASE_APP_PASSWORD": password,
    }
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _url(runtime, password, server, dbname),
        "DATABASE_MIGRATE_URL": _url(owner, password, server, dbname),
    }
    try:
        made = subprocess.run(
            ["/bin/sh", "deploy/postgres-roles.sh"], cwd=ROOT, env=init, capture_output=True, text=True
        )
        assert made.returncode == 0, made.stderr
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        yield {"env": env, "server": server, "dbname": dbname, "runtime": runtime, "owner": owner, "pw": password}
    finally:
        maintenance.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(dbname))
        )
        for role in (runtime, owner):
            maintenance.execute(psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(psycopg.sql.Identifier(role)))
        maintenance.close()


def _connect(two_roles: dict, role: str) -> psycopg.Connection:
    server = two_roles["server"]
    return psycopg.connect(
        host=server["host"],
        port=server["port"],
        user=two_roles[role],
        password=two_roles["pw"],
        dbname=two_roles["dbname"],
        autocommit=True,
    )


def _refusal(conn: psycopg.Connection, statement: str, params: list | None = None) -> str:
    with pytest.raises(psycopg.Error) as refused:
        conn.execute(statement, params)
    return str(refused.value)


def test_migrations_ran_as_the_owner_who_owns_every_table_and_neither_role_is_privileged(two_roles):
    with _connect(two_roles, "owner") as owner:
        owners = {row[0] for row in owner.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
        flags = owner.execute(
            "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls FROM pg_roles"
            " WHERE rolname IN (%s, %s)",
            [two_roles["owner"], two_roles["runtime"]],
        ).fetchall()
        member = owner.execute(
            "SELECT pg_has_role(%s, %s, 'MEMBER')", [two_roles["runtime"], two_roles["owner"]]
        ).fetchone()
    assert owners == {two_roles["owner"]}
    assert flags == [(False,), (False,)]
    assert member == (False,)


def test_the_runtime_role_cannot_rewrite_or_unguard_the_trail(two_roles):
    with _connect(two_roles, "runtime") as app:
        row_id = app.execute(
            "INSERT INTO care_events_auditentry (at, username, roles, auth_method, token_prefix, request_id, action,"
            " method, route, path, object_type, object_ids, patient_ids, detail)"
            " VALUES (now(), 'probe', '{}', '', '', '', 'login', '', '', '', '', '{}', '{}', '{}') RETURNING id"
        ).fetchone()[0]
        assert app.execute("SELECT username FROM care_events_auditentry WHERE id = %s", [row_id]).fetchone() == (
            "probe",
        )

        denied = "permission denied"
        assert denied in _refusal(app, "UPDATE care_events_auditentry SET username = 'x' WHERE id = %s", [row_id])
        assert denied in _refusal(app, "DELETE FROM care_events_auditentry WHERE id = %s", [row_id])
        assert denied in _refusal(app, "TRUNCATE care_events_auditentry")
        owner_only = "must be owner"
        assert owner_only in _refusal(app, "ALTER TABLE care_events_auditentry DISABLE TRIGGER ALL")
        assert owner_only in _refusal(
            app, "DROP TRIGGER care_events_auditentry_no_update_delete ON care_events_auditentry"
        )
        assert owner_only in _refusal(app, "DROP TABLE care_events_auditentry")
        assert owner_only in _refusal(app, "ALTER TABLE care_events_auditentry RENAME TO old_trail")
        assert owner_only in _refusal(app, "DROP FUNCTION care_events_auditentry_append_only()")
        assert denied in _refusal(app, "SET session_replication_role = replica")  # replicas skip triggers
        assert denied in _refusal(app, f"SET ROLE {two_roles['owner']}")
        # No DDL at all: no table, temporary table, schema or trigger of its own.
        assert denied in _refusal(app, "CREATE TABLE shadow (id int)")
        assert denied in _refusal(app, "CREATE TEMPORARY TABLE shadow (id int)")
        assert denied in _refusal(app, "CREATE SCHEMA shadow")
        assert denied in _refusal(
            app,
            "CREATE TRIGGER t BEFORE INSERT ON care_events_patient FOR EACH ROW"
            " EXECUTE FUNCTION care_events_auditentry_append_only()",
        )
        assert denied in _refusal(app, "DELETE FROM django_migrations")

        still = app.execute("SELECT username FROM care_events_auditentry WHERE id = %s", [row_id]).fetchone()
    assert still == ("probe",)


def test_a_table_a_later_migration_creates_is_granted_to_the_runtime_role_by_default(two_roles):
    with _connect(two_roles, "owner") as owner:
        owner.execute("CREATE TABLE care_events_later (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)")
    with _connect(two_roles, "runtime") as app:
        app.execute("INSERT INTO care_events_later DEFAULT VALUES")
        app.execute("DELETE FROM care_events_later")
        assert "permission denied" in _refusal(app, "TRUNCATE care_events_later")


APP_WORK = textwrap.dedent(
    """
    import json
    from django.test import Client
    from django.contrib.auth import get_user_model
    from care_events.platform.audit.models import AuditEntry
    from tests.care_events.factories import PatientFactory
    from tests.helpers import force_admin_login

    patient = PatientFactory()
    user = get_user_model().objects.create_superuser("roles-probe", "probe@hospital.example", "x" * 16)
    client = force_admin_login(Client(), user)
    response = client.get(f"/admin/care_events/patient/{patient.pk}/change/")
    entry = AuditEntry.objects.get(route="admin:care_events_patient_change")
    print(json.dumps({"status": response.status_code, "patients": [str(p) for p in entry.patient_ids],
                      "patient": str(patient.pk)}))
    """
)


def test_the_runtime_role_still_does_the_products_work_and_each_request_writes_its_row(two_roles):
    env = {key: value for key, value in two_roles["env"].items() if key != "DATABASE_MIGRATE_URL"}
    done = subprocess.run(  # noqa: S603 - this interpreter, the project's manage.py
        [sys.executable, "manage.py", "shell", "-c", APP_WORK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == 200
    assert result["patients"] == [result["patient"]]
