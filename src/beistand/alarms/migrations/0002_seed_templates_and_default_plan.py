"""Seed the alarm templates and the default alarm plan (neighbours → floor → building →
security service). Admins change both as data; this only creates what is missing."""

from django.db import migrations

from beistand.alarms.seed import seed as seed_defaults


def seed(apps, schema_editor):
    seed_defaults(apps.get_model("alarms", "AlarmTemplate"), apps.get_model("alarms", "AlarmPlan"),
                  apps.get_model("alarms", "AlarmTier"))


class Migration(migrations.Migration):
    dependencies = [("alarms", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
