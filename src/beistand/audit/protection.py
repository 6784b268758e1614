"""Database-level protection of the audit trail: triggers on the events *and* the head row.

* ``audit_auditevent``: UPDATE, DELETE (and TRUNCATE on PostgreSQL) are always refused; an
  INSERT is accepted only at the head (``seq`` = head + 1 and ``prev_hash`` = the head's hash).
* ``audit_audithead``: DELETE (and TRUNCATE) are refused; an UPDATE must move the head exactly
  one row forward, onto the event that was just appended after it (never backwards, never to a
  rewritten row); a new head row is accepted only at the genesis of an empty trail.

There is no switch that lets the application's own connection delete audit rows (issue 16,
finding 4: the former ``allow_prune`` flag was such a switch). Whoever can drop triggers can still
rewrite the chain; the signed checkpoints kept outside the database (``checkpoint.py``) catch
that. The SQL lives here, used by migration ``audit/0003`` and after every ``migrate``/``flush``
(``apps.py``), so that a test suite's flush re-installs it.
"""

GENESIS = "0" * 64
_REFUSED = "audit trail is append-only"

SQLITE_INSTALL = [
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, '@REFUSED@'); END;""",
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, '@REFUSED@'); END;""",
    """CREATE TRIGGER IF NOT EXISTS audit_event_at_head BEFORE INSERT ON audit_auditevent
       WHEN NOT EXISTS (SELECT 1 FROM audit_audithead WHERE id = 1
                        AND last_seq + 1 = NEW.seq AND last_hash = NEW.prev_hash)
       BEGIN SELECT RAISE(ABORT, 'audit rows are appended at the head only'); END;""",
    """CREATE TRIGGER IF NOT EXISTS audit_head_no_delete BEFORE DELETE ON audit_audithead
       BEGIN SELECT RAISE(ABORT, '@REFUSED@'); END;""",
    """CREATE TRIGGER IF NOT EXISTS audit_head_forward_only BEFORE UPDATE ON audit_audithead
       WHEN NOT (NEW.id = OLD.id AND NEW.last_seq = OLD.last_seq + 1 AND EXISTS (
           SELECT 1 FROM audit_auditevent WHERE seq = NEW.last_seq AND hash = NEW.last_hash
           AND prev_hash = OLD.last_hash))
       BEGIN SELECT RAISE(ABORT, 'the audit head only moves forward'); END;""",
    """CREATE TRIGGER IF NOT EXISTS audit_head_genesis_only BEFORE INSERT ON audit_audithead
       WHEN NEW.id <> 1 OR NEW.last_seq <> 0 OR NEW.last_hash <> '@GENESIS@'
            OR EXISTS (SELECT 1 FROM audit_auditevent)
       BEGIN SELECT RAISE(ABORT, 'the audit head starts at the genesis only'); END;""",
]
SQLITE_TRIGGERS = ("audit_event_no_update", "audit_event_no_delete", "audit_event_at_head",
                   "audit_head_no_delete", "audit_head_forward_only", "audit_head_genesis_only")
SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS {name};" for name in SQLITE_TRIGGERS]

# SQLSTATE 23001 (restrict_violation): drivers raise IntegrityError, as for SQLite's RAISE(ABORT).
POSTGRES_INSTALL = [
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'INSERT' THEN
           IF EXISTS (SELECT 1 FROM @SCHEMA@.audit_audithead WHERE id = 1
                      AND last_seq + 1 = NEW.seq AND last_hash = NEW.prev_hash) THEN
             RETURN NEW;
           END IF;
           RAISE EXCEPTION 'audit rows are appended at the head only'
             USING ERRCODE = 'restrict_violation';
         END IF;
         RAISE EXCEPTION '@REFUSED@' USING ERRCODE = 'restrict_violation';
       END; $$ LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp;""",
    """CREATE OR REPLACE FUNCTION audit_head_forward_only() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'UPDATE' THEN
           IF NEW.id = OLD.id AND NEW.last_seq = OLD.last_seq + 1 AND EXISTS (
               SELECT 1 FROM @SCHEMA@.audit_auditevent WHERE seq = NEW.last_seq
               AND hash = NEW.last_hash AND prev_hash = OLD.last_hash) THEN
             RETURN NEW;
           END IF;
           RAISE EXCEPTION 'the audit head only moves forward'
             USING ERRCODE = 'restrict_violation';
         END IF;
         IF TG_OP = 'INSERT' THEN
           IF NEW.id = 1 AND NEW.last_seq = 0 AND NEW.last_hash = '@GENESIS@'
              AND NOT EXISTS (SELECT 1 FROM @SCHEMA@.audit_auditevent) THEN
             RETURN NEW;
           END IF;
           RAISE EXCEPTION 'the audit head starts at the genesis only'
             USING ERRCODE = 'restrict_violation';
         END IF;
         RAISE EXCEPTION '@REFUSED@' USING ERRCODE = 'restrict_violation';
       END; $$ LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp;""",
    "DROP TRIGGER IF EXISTS audit_event_no_update ON audit_auditevent;",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;",
    "DROP TRIGGER IF EXISTS audit_head_guard ON audit_audithead;",
    "DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_audithead;",
    """CREATE TRIGGER audit_event_no_update BEFORE INSERT OR UPDATE OR DELETE
       ON audit_auditevent FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
       FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();""",
    """CREATE TRIGGER audit_head_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_audithead
       FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();""",
    """CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_audithead
       FOR EACH STATEMENT EXECUTE FUNCTION audit_head_forward_only();""",
]
POSTGRES_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update ON audit_auditevent;",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;",
    "DROP TRIGGER IF EXISTS audit_head_guard ON audit_audithead;",
    "DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_audithead;",
    "DROP FUNCTION IF EXISTS audit_event_append_only();",
    "DROP FUNCTION IF EXISTS audit_head_forward_only();",
]



def _fill(statements: list[str]) -> list[str]:
    return [sql.replace("@REFUSED@", _REFUSED).replace("@GENESIS@", GENESIS)
            for sql in statements]


SQLITE_INSTALL = _fill(SQLITE_INSTALL)
POSTGRES_INSTALL = _fill(POSTGRES_INSTALL)
INSTALL = {"sqlite": SQLITE_INSTALL, "postgresql": POSTGRES_INSTALL}
REMOVE = {"sqlite": SQLITE_REMOVE, "postgresql": POSTGRES_REMOVE}
# The trigger functions run with a fixed search_path and name their tables with the schema:
# otherwise a temporary table of the same name (pg_temp comes first in the default search path)
# or an object in a schema earlier in the caller's path would stand in for the trail.
FUNCTION_SEARCH_PATH = "search_path=pg_catalog, pg_temp"


def quote_schema(schema: str) -> str:
    return '"' + schema.replace('"', '""') + '"'


def install_statements(vendor: str, schema: str = "public") -> list[str]:
    """The statements ``install`` runs, the PostgreSQL functions bound to ``schema``."""
    return [sql.replace("@SCHEMA@", quote_schema(schema)) for sql in INSTALL.get(vendor, [])]


def install(connection) -> None:
    """Install (or re-install) the triggers; idempotent."""
    with connection.cursor() as cursor:
        schema = "public"
        if connection.vendor == "postgresql":
            cursor.execute("SELECT current_schema()")
            schema = cursor.fetchone()[0]
        for sql in install_statements(connection.vendor, schema):
            cursor.execute(sql)


def remove(connection) -> None:
    """Remove the triggers. Only for a test database about to be emptied, and for migrations:
    production code never calls it."""
    with connection.cursor() as cursor:
        for sql in REMOVE.get(connection.vendor, []):
            cursor.execute(sql)
