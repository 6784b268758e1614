"""Protect the chain's head row like the events, and drop the ``allow_prune`` switch (issue 16,
finding 4): the application's own connection can no longer open the trail for deletion, nor move
the head backwards. The triggers are defined in ``beistand.audit.protection``."""

from django.db import migrations

from beistand.audit import protection


def _remove(apps, schema_editor):
    protection.remove(schema_editor.connection)


def _install(apps, schema_editor):
    protection.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [
        migrations.RunPython(_remove, migrations.RunPython.noop),
        migrations.RemoveField(model_name="audithead", name="allow_prune"),
        migrations.RunPython(_install, _remove),
    ]
