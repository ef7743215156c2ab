#!/bin/sh
# Run once by the postgres image when its volume is new (/docker-entrypoint-initdb.d), as
# POSTGRES_USER, the owner that `tympan migrate` uses (DATABASE_MIGRATION_URL). Creates the
# runtime role the servers and workers use (DATABASE_URL): it may connect, and `tympan migrate`
# grants it the rows it works on and nothing else (docs/security.md, "Database roles").
# psql reads the password from the environment itself (\getenv, psql 15+), so it is never in
# a file or in argv, where ps would show it.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
\getenv app_password POSTGRES_APP_PASSWORD
CREATE ROLE tympan_app LOGIN PASSWORD :'app_password';
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"DBNAME" TO tympan_app;
SQL
