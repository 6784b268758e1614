"""Database-level protection of the audit trail and the chain's head row.

Triggers make the database itself refuse UPDATE (always) and DELETE (unless the head row's
``allow_prune`` is set, which only audited retention pruning does inside its transaction) on
audit rows, so no code path that bypasses the ORM can change history. Changing a row "by hand"
requires dropping the triggers first, which ``beistand audit verify`` then detects.
"""

from django.db import migrations

GENESIS = "0" * 64

SQLITE = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
       WHEN EXISTS (SELECT 1 FROM audit_audithead WHERE id = 1 AND allow_prune = 0)
       BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update;",
    "DROP TRIGGER IF EXISTS audit_event_no_delete;",
]
POSTGRES = [
    # DELETE/TRUNCATE pass only while the head row exists with allow_prune set (a flush's
    # TRUNCATE runs every BEFORE TRUNCATE trigger before it empties any table, so the head is
    # still there). SQLSTATE 23001 (restrict_violation) makes drivers raise IntegrityError, as
    # SQLite's RAISE(ABORT) does, instead of the generic P0001.
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
       BEGIN
         IF TG_OP <> 'UPDATE' AND EXISTS (
             SELECT 1 FROM audit_audithead WHERE id = 1 AND allow_prune) THEN
           RETURN OLD;
         END IF;
         RAISE EXCEPTION 'audit trail is append-only' USING ERRCODE = 'restrict_violation';
       END; $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_auditevent
       FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
       FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update ON audit_auditevent;",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;",
    "DROP FUNCTION IF EXISTS audit_event_append_only();",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)
    return run


def create_head(apps, schema_editor):
    AuditHead = apps.get_model("audit", "AuditHead")
    AuditHead.objects.get_or_create(pk=1, defaults={"last_seq": 0, "last_hash": GENESIS})


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(_run({"sqlite": SQLITE, "postgresql": POSTGRES}),
                             _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE})),
        migrations.RunPython(create_head, migrations.RunPython.noop),
    ]
