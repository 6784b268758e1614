-- beistand: privileges of the application role. Run as the OWNER role after every
-- `beistand migrate` (idempotent), without a password on any command line:
--   beistand-admin --owner apply-grants --app-role beistand_app
-- (`beistand restore-complete` runs it too).
-- The application role (web processes, worker) may read and write every table, but on the audit
-- trail only SELECT and INSERT: no UPDATE, DELETE or TRUNCATE, whatever the code does. The
-- append-only triggers (src/beistand/audit/protection.py) additionally refuse them for every
-- role; only the owner can drop those triggers. `beistand audit verify` fails on a dropped,
-- disabled or altered trigger and on any role besides the owner that may UPDATE, DELETE or
-- TRUNCATE audit_auditevent (tests/ops/test_audit_protections.py).

GRANT USAGE ON SCHEMA public TO :"app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO :"app";

-- Tables a later migration creates get the same rights (re-run this script anyway: it also
-- re-applies the audit restriction below).
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO :"app";

-- The audit trail: append-only for the application.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditevent FROM :"app";
-- The schema's migration record is the owner's business.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON django_migrations FROM :"app";
