"""``beistand alarm``: tools of the silent alarm.

- ``beistand alarm test --room <id | Standort/Gebäude/Raum>`` sends a Probealarm for a room end
  to end (the room's alarm plan, first tier with someone online), waits for the receivers'
  receipts, prints who received it, ends the test alarm and exits 0 when at least one receiver
  got it, else 1. A running server delivers it (its sweep picks up events of other processes).
- ``beistand alarm vapid-keys`` prints a new VAPID key pair for Web Push.
- ``beistand alarm reset-inbox (--user NAME | --device ID | --inbox ID) --reason TEXT`` resets
  one inbox's numbering (a new epoch, audited): its clients are told to ``reset`` and receive
  every event they have no receipt for (``alarms/inbox_reset.py``).
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from beistand.alarms import locations, services
from beistand.alarms.models import AlarmRecipient
from beistand.alarms.webpush import generate_vapid_keys
from beistand.audit import services as audit
from beistand.core.errors import DomainError
from beistand.organisation.models import Room


class Command(BaseCommand):
    help = ("Stiller Alarm: 'alarm test --room …' sendet einen Probealarm für einen Raum und "
            "prüft den Empfang; 'alarm vapid-keys' erzeugt Schlüssel für Web Push; "
            "'alarm reset-inbox' setzt die Nummerierung eines Postfachs zurück.")

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
        reset = sub.add_parser("reset-inbox", help="Nummerierung eines Alarm-Postfachs "
                                                   "zurücksetzen (neue Epoche, protokolliert)")
        which = reset.add_mutually_exclusive_group(required=True)
        which.add_argument("--user", help="Benutzername der Person")
        which.add_argument("--device", type=int, help="ID des Geräts")
        which.add_argument("--inbox", type=int, help="Nummer des Postfachs (hello.inbox)")
        reset.add_argument("--reason", required=True, help="Grund (kommt ins Audit-Protokoll)")

    def handle(self, *args, subcommand, **options):
        if subcommand == "vapid-keys":
            private, public = generate_vapid_keys()
            self.stdout.write(f"BEISTAND_VAPID_PRIVATE_KEY={private}")
            self.stdout.write(f"BEISTAND_VAPID_PUBLIC_KEY={public}")
            return
        if subcommand == "reset-inbox":
            self._reset_inbox(options)
            return
        self._test(options["room"], options["wait"])

    def _reset_inbox(self, options):
        try:
            inbox = services.find_inbox(inbox_id=options["inbox"], username=options["user"],
                                        device_id=options["device"])
            with transaction.atomic():
                epoch = services.reset_inbox(
                    inbox, reason=options["reason"],
                    actor=audit.Actor(user=None, label="beistand alarm reset-inbox"))
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Postfach {inbox.pk}: neue Epoche {epoch}. Verbundene Clients werden "
                          "getrennt und beim Wiederverbinden zurückgesetzt.")

    def _test(self, ref: str, wait: float):
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
        services.end_test_alarm(alarm.pk)
        summary = f"{len(received)} von {len(rows)} Empfängern haben den Probealarm erhalten."
        if not received:
            raise CommandError(f"Probealarm {alarm.pk} für {where}: niemand hat ihn empfangen "
                               f"({summary})", returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))


def find_room(ref: str):
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
