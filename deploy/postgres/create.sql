-- beistand on PostgreSQL: roles and database. Run ONCE as a superuser, e.g.
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -v db=beistand -v owner=beistand_owner \
--        -v app=beistand_app -v owner_pw='…' -v app_pw='…' -f deploy/postgres/create.sql
-- Two roles:
--   beistand_owner  owns the database and every table; runs `beistand migrate` (and backups).
--   beistand_app    what the web processes and the worker log in as: reads and writes data,
--                   but may not change or delete the audit trail, and may not change the schema.
-- Then, after EVERY `beistand migrate` (it is idempotent):
--   psql "postgres://beistand_owner@db-host/beistand" -f deploy/postgres/grants.sql

CREATE ROLE :"owner" LOGIN PASSWORD :'owner_pw';
CREATE ROLE :"app" LOGIN PASSWORD :'app_pw';
CREATE DATABASE :"db" OWNER :"owner" ENCODING 'UTF8' TEMPLATE template0;

\connect :"db"
-- Nobody but the owner creates objects in the schema (PostgreSQL < 15 lets everyone).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
