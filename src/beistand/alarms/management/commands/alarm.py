"""``beistand alarm``: tools of the silent alarm.

- ``beistand alarm test --room <id | Standort/Gebäude/Raum>`` sends a Probealarm for a room end
  to end (the room's alarm plan, first tier with someone online), waits for the receivers'
  receipts, prints who received it, ends the test alarm and exits 0 when at least one receiver
  got it, else 1. A running server delivers it (its sweep picks up events of other processes).
- ``beistand alarm vapid-keys`` prints a new VAPID key pair for Web Push.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone


class Command(BaseCommand):
    help = ("Stiller Alarm: 'alarm test --room …' sendet einen Probealarm für einen Raum und "
            "prüft den Empfang; 'alarm vapid-keys' erzeugt Schlüssel für Web Push.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        test = sub.add_parser("test", help="Probealarm für einen Raum senden und Empfang prüfen; "
                                           "Exit-Code 0, wenn ihn jemand empfangen hat.")
        test.add_argument("--room", required=True,
                          help="Raum-ID oder „Standort/Gebäude/Raumnummer“")
        test.add_argument("--wait", type=float, default=30.0,
                          help="höchstens so viele Sekunden auf Empfangsbestätigungen warten "
                               "(Standard 30)")
        sub.add_parser("vapid-keys", help="neues VAPID-Schlüsselpaar für Web Push ausgeben")

    def handle(self, *args, subcommand, **options):
        if subcommand == "vapid-keys":
            from beistand.alarms.webpush import generate_vapid_keys

            private, public = generate_vapid_keys()
            self.stdout.write(f"BEISTAND_VAPID_PRIVATE_KEY={private}")
            self.stdout.write(f"BEISTAND_VAPID_PUBLIC_KEY={public}")
            return
        self._test(options["room"], options["wait"])

    def _test(self, ref: str, wait: float):
        from beistand.alarms import locations, payloads, services
        from beistand.alarms.models import AlarmRecipient

        if wait < 0:
            raise CommandError("--wait: bitte eine Zahl ab 0.")
        room = find_room(ref)
        where = locations.one_line(locations.describe(room, None, None, None, ""))
        result = services.trigger(template="probealarm", source="test", audience="plan",
                                  room=room, location_text="Funktionstest – kein Ernstfall")
        alarm = result.alarm
        self.stdout.write(f"Probealarm {alarm.pk} für {where} ausgelöst.")
        deadline = time.monotonic() + wait
        rows = []
        while True:
            rows = list(AlarmRecipient.objects.filter(alarm=alarm).order_by("tier", "label"))
            expected = [r for r in rows if r.online]
            if expected and all(r.delivered_at for r in expected):
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        received = [r for r in rows if r.delivered_at]
        for row in rows:
            if row.delivered_at:
                at = timezone.localtime(row.delivered_at).strftime("%H:%M:%S")
                self.stdout.write(f"  empfangen:       {row.label} (Stufe {row.tier}, {at})")
            else:
                state = "online" if row.online else "ohne Verbindung"
                self.stdout.write(f"  nicht empfangen: {row.label} (Stufe {row.tier}, {state})")
        end_test_alarm(alarm.pk, payloads, services)
        summary = f"{len(received)} von {len(rows)} Empfängern haben den Probealarm erhalten."
        if not received:
            raise CommandError(f"Probealarm {alarm.pk} für {where}: niemand hat ihn empfangen "
                               f"({summary})", returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))


def find_room(ref: str):
    from beistand.organisation.models import Room

    ref = (ref or "").strip()
    rooms = Room.objects.select_related("floor__building__site")
    if ref.isdigit():
        room = rooms.filter(pk=int(ref)).first()
    else:
        parts = [p.strip() for p in ref.split("/")]
        if len(parts) != 3 or not all(parts):
            raise CommandError("--room: Raum-ID oder „Standort/Gebäude/Raumnummer“, z. B. "
                               "„Rathaus/Hauptgebäude/1.02“.")
        found = list(rooms.filter(floor__building__site__name=parts[0],
                                  floor__building__name=parts[1], number=parts[2])[:2])
        if len(found) > 1:
            raise CommandError(f"„{ref}“ ist nicht eindeutig; bitte die Raum-ID angeben.")
        room = found[0] if found else None
    if room is None:
        raise CommandError(f"Raum „{ref}“ gibt es nicht.")
    return room


def end_test_alarm(alarm_id: int, payloads, services):
    """All-clear of the test alarm, so no receive window stays open."""
    from beistand.alarms.models import Alarm, AlarmTimeline

    with transaction.atomic():
        alarm = Alarm.objects.select_for_update().select_related("template").get(pk=alarm_id)
        if not alarm.is_open:
            return
        alarm.state = Alarm.State.RESOLVED
        alarm.resolved_at = timezone.now()
        alarm.resolve_note = "Probealarm beendet"
        alarm.next_deadline = None
        alarm.save(update_fields=["state", "resolved_at", "resolve_note", "next_deadline"])
        AlarmTimeline.objects.create(alarm=alarm, kind="resolved",
                                     text="Probealarm beendet (Funktionstest)",
                                     actor="beistand alarm test")
        services._broadcast(alarm, payloads.update_event(
            alarm, "resolved", by="Funktionstest", note="Probealarm beendet"))
