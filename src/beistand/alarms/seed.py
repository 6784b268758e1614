"""The seeded alarm templates and the default alarm plan (neighbours → floor → building →
security service). Used by migration 0002 and by tests after a flush; creates only what is
missing, so an admin's changes stay."""

TEMPLATES = [
    # code, name, audience, escalate, come, test, priority, sound, triggerable, instructions
    ("beistand", "Beistand", "plan", True, True, False, 2, "alarm", True,
     "Eine Kollegin / ein Kollege braucht sofort Beistand am Arbeitsplatz. Bitte ruhig und "
     "ohne Aufsehen hingehen (z. B. mit einem Vorwand: „Ich bringe die Akte“), Situation "
     "einschätzen, bei Gefahr sofort Polizei (110) rufen. Nicht allein eingreifen."),
    ("bedrohung", "Bedrohung", "plan", True, True, False, 3, "alarm-urgent", True,
     "Akute Bedrohung am Arbeitsplatz. Zu zweit hingehen, Abstand halten, Sicherheitsdienst "
     "ist informiert. Bei Waffen oder Gewalt: nicht eingreifen, Polizei 110 rufen."),
    ("medizin", "Medizinischer Notfall", "plan", True, True, False, 3, "alarm-medical", True,
     "Medizinischer Notfall. Ersthelfer bitte sofort hin, Erste-Hilfe-Material mitnehmen; "
     "Rettungsdienst 112 rufen, wenn noch nicht geschehen."),
    ("amok", "Amok / Lebensgefahr", "building", False, False, False, 3, "alarm-amok", True,
     "AMOK-ALARM. NICHT zum Ort gehen! Türen verschließen, vom Fenster und von der Tür "
     "weg, Licht aus, still verhalten, Handy lautlos. Polizei 110 nur mit neuen "
     "Informationen anrufen. Erst auf Entwarnung der Polizei verlassen."),
    ("probealarm", "Probealarm", "self", False, True, True, 1, "test", True,
     "PROBEALARM – kein Ernstfall. Bitte nur den Empfang bestätigen."),
    ("entwarnung", "Entwarnung", "none", False, False, False, 1, "all-clear", False,
     "Entwarnung: die Lage ist geklärt."),
]


def seed(Template, Plan, Tier):
    for order, (code, name, audience, escalate, come, test, priority, sound, triggerable,
                instructions) in enumerate(TEMPLATES):
        Template.objects.get_or_create(code=code, defaults={
            "name": name, "audience": audience, "escalate": escalate, "come": come,
            "test": test, "priority": priority, "sound": sound, "triggerable": triggerable,
            "instructions": instructions, "order": order})
    if not Plan.objects.filter(scope="default").exists():
        plan = Plan.objects.create(name="Standard-Alarmplan", scope="default")
        for order, kind, radius, timeout in ((1, "neighbours", 15, 20), (2, "floor", 15, 20),
                                             (3, "building", 15, 20), (4, "security", 15, 30)):
            Tier.objects.create(plan=plan, order=order, kind=kind, radius_m=radius,
                                timeout_s=timeout, acks_needed=1, sms_when_offline=True)


def ensure_defaults():
    from django.db import transaction

    from beistand.alarms.models import AlarmPlan, AlarmTemplate, AlarmTier

    with transaction.atomic():
        seed(AlarmTemplate, AlarmPlan, AlarmTier)
