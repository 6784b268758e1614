-- beistand on PostgreSQL: roles and database. Run ONCE as a superuser, with the passwords set
-- by \set through a pipe (never -v owner_pw=… on a command line others see in ps), as step 3
-- of docs/operations.md does:
--   { printf "\\set owner_pw '%s'\n\\set app_pw '%s'\n" "$OWNER_PW" "$APP_PW"; cat create.sql; } \
--     | runuser -u postgres -- psql -v ON_ERROR_STOP=1 -v db=beistand -v owner=beistand_owner \
--           -v app=beistand_app
-- Two roles:
--   beistand_owner  owns the database and every table; runs `beistand migrate` (and backups).
--   beistand_app    what the web processes and the worker log in as: reads and writes data,
--                   but may not change or delete the audit trail, and may not change the schema.
-- Then, after EVERY `beistand migrate` (it is idempotent):
--   beistand-admin --owner apply-grants --app-role beistand_app   (runs grants.sql)

CREATE ROLE :"owner" LOGIN PASSWORD :'owner_pw';
CREATE ROLE :"app" LOGIN PASSWORD :'app_pw';
CREATE DATABASE :"db" OWNER :"owner" ENCODING 'UTF8' TEMPLATE template0;

\connect :"db"
-- Nobody but the owner creates objects in the schema (PostgreSQL < 15 lets everyone).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
