#!/bin/sh
# The two database roles (docs/operations.md, "Database roles"), made once when the PostgreSQL data volume is first
# initialised: the postgres image runs this from /docker-entrypoint-initdb.d as its superuser, after creating
# POSTGRES_DB. The superuser is for this and for the health check only; no service of the product logs in as it.
#
# - the owner (DATABASE_OWNER_ROLE, default sequora_owner) owns the database and every table: only the migrate job
#   logs in as it (DATABASE_MIGRATE_URL);
# - the runtime role (DATABASE_APP_ROLE, default sequora_app) is what web, the workers and Beat log in as
#   (DATABASE_URL). `manage.py migrate` grants it its privileges: the audit trail INSERT and SELECT only, no DDL.
#
# Neither is a superuser, may create databases or roles, or is a member of the other. Passwords come from the
# environment (DATABASE_OWNER_PASSWORD, DATABASE_APP_PASSWORD) and are never written here.
set -eu
psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v db="$POSTGRES_DB" \
    -v owner="${DATABASE_OWNER_ROLE:-sequora_owner}" -v owner_password="$DATABASE_OWNER_PASSWORD" \
    -v app="${DATABASE_APP_ROLE:-sequora_app}" -v app_password="$DATABASE_APP_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'app_password';
ALTER DATABASE :"db" OWNER TO :"owner";
REVOKE CREATE, TEMPORARY ON DATABASE :"db" FROM PUBLIC;
SQL
