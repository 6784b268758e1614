"""Seed the catalogue of recommended protective measures (editable afterwards)."""

from django.db import migrations

MEASURES = [
    ("pairs", "Besuch nur zu zweit"),
    ("police_escort", "Nur mit Polizeibegleitung"),
    ("no_home_visit", "Kein Hausbesuch"),
    ("secured_room", "Termin nur im gesicherten Besprechungsraum"),
    ("security_present", "Sicherheitsdienst hinzuziehen"),
    ("alarm_ready", "Mobilen Alarm bereithalten"),
    ("no_single_contact", "Kein Einzelkontakt am Schalter"),
    ("inform_supervisor", "Vorgesetzte vor dem Termin informieren"),
]


def seed(apps, schema_editor):
    ProtectiveMeasure = apps.get_model("register", "ProtectiveMeasure")
    for sort, (code, label) in enumerate(MEASURES):
        ProtectiveMeasure.objects.get_or_create(code=code, defaults={"label": label,
                                                                     "sort": sort})


class Migration(migrations.Migration):
    dependencies = [("register", "0003_protectivemeasure_remove_registerperson_city_and_more")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
