"""Seed the offence catalogue and the help offers (editable afterwards)."""

from django.db import migrations


def seed(apps, schema_editor):
    from beistand.reports.catalogue import HELP_OFFERS, OFFENCES

    Offence = apps.get_model("reports", "Offence")
    HelpOffer = apps.get_model("reports", "HelpOffer")
    for sort, (code, label, level, attack) in enumerate(OFFENCES):
        Offence.objects.get_or_create(code=code, defaults={
            "label": label, "level": level, "attack": attack, "sort": sort})
    for sort, (code, label, unit_code, description) in enumerate(HELP_OFFERS):
        HelpOffer.objects.get_or_create(code=code, defaults={
            "label": label, "unit_code": unit_code, "description": description,
            "sort": sort})


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
