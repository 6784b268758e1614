"""PostgreSQL: the audit trail's trigger functions get a fixed ``search_path = pg_catalog,
pg_temp`` and name their tables with the schema (issue 16 follow-up): before, a temporary table
``audit_audithead`` of the application's session stood in for the real head inside the trigger,
and events could be inserted anywhere in the chain. The SQL lives in
``beistand.audit.protection``; re-installing replaces the functions and triggers. SQLite: no
change (its triggers have no search path; the connection's authorizer, ``audit/guard.py``,
guards them)."""

from django.db import migrations

from beistand.audit import protection


def _install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        protection.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_protect_head")]

    operations = [migrations.RunPython(_install, migrations.RunPython.noop)]
