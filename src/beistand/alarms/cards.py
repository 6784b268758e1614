"""The silent alarm's start page cards (see ``beistand.core.cards``): the alarm page for every
viewer, with open alarms of others as attention items, and the alarm log for the security
service, ZKS and the administration."""

from datetime import timedelta

from django.urls import reverse

from beistand.accounts.roles import Role
from beistand.alarms import lifecycle, reporting
from beistand.alarms import services as alarms
from beistand.alarms.models import Alarm
from beistand.core.cards import Card, Link, Viewer, card, count, links

# The alarm log card sums up this many days.
LOG_DAYS = 30


@card(10)
def alarm_card(viewer: Viewer) -> Card:
    user, employee = viewer.user, viewer.employee
    page_url = reverse("alarms:page")
    open_alarms = alarms.active_for(user)
    for alarm in open_alarms:
        if alarm.sender_user_id != user.pk:
            sender = alarm.sender.full_name if alarm.sender_id else "unbekannt"
            viewer.attend("danger", f"Offener Alarm „{alarm.template.name}“ von {sender}.",
                          Link("Zum stillen Alarm", page_url))
    text = ["Holt unauffällig Hilfe an Ihren Arbeitsplatz: zuerst Kolleginnen und Kollegen in "
            "der Nähe, dann weitere Stufen bis zum Sicherheitsdienst. Auf der Seite empfangen "
            "Sie auch Alarme anderer."]
    if employee is None or not employee.room_id:
        text.append("Ihnen ist kein Raum zugeordnet: Helfende finden Sie dann nur über Ihren "
                    "Standort (Browser) oder Ihre Angaben im Alarm.")
    return Card(
        key="alarm", title="Stiller Alarm",
        tone="danger" if open_alarms else "",
        status=count(len(open_alarms), "offener Alarm", "offene Alarme") if open_alarms else "",
        text=text,
        links=links(("Stillen Alarm öffnen", page_url),
                    ("Wer bekommt meinen Alarm jetzt?", reverse("alarms:coverage"))))


@card(120)
def alarm_log_card(viewer: Viewer) -> Card | None:
    if not viewer.roles & {Role.SECURITY, Role.ZKS, Role.ADMIN}:
        return None
    recent = (Alarm.objects.filter(triggered_at__gte=viewer.now - timedelta(days=LOG_DAYS))
              .select_related("template"))
    figures = reporting.compute_statistics(recent)
    open_now = Alarm.objects.filter(state__in=lifecycle.OPEN).count()
    return Card(
        key="alarm_log", title="Alarmprotokoll",
        tone="warning" if figures["unanswered"] else "",
        status=count(figures["unanswered"], "Alarm ohne Zusage", "Alarme ohne Zusage")
        if figures["unanswered"] else "",
        text=["Jeder stille Alarm mit Zustellung, Antworten, Eskalationen und Entwarnung; "
              "Statistik und CSV-Export."],
        facts=[("Alarme in den letzten 30 Tagen", str(figures["real"])),
               ("davon ohne Zusage „Ich komme“", str(figures["unanswered"])),
               ("Probealarme", str(figures["test"])),
               ("Jetzt offen", str(open_now))],
        links=links(("Alarmprotokoll öffnen", reverse("alarms:log"))))
