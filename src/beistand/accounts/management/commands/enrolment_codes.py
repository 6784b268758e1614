"""``beistand enrolment-codes``: one-time codes for pairing workstations (issue 21, item 8).

    beistand enrolment-codes --as admin --name "PC Bürgerbüro" --room 1.05
    beistand enrolment-codes --as admin --name "PC Bürgerbüro" --room 12 --count 4
    beistand enrolment-codes --as admin --csv seats.csv --hours 48

The administrator named with ``--as`` (``--admin`` is the older spelling) proves it with
password and second factor (asked; on a pipe read line by line, ``accounts.console``).

A CSV (``;`` or ``,``) has the columns ``name;room;username`` (room: id or room number,
username optional). Prints one line per code: code, seat, room, valid until. The codes are
shown only now; they are stored as hashes."""

import csv
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from beistand.accounts import console, enrolment
from beistand.core.errors import DomainError
from beistand.organisation.models import Room


def _room(value: str):
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        room = Room.objects.filter(pk=int(value)).first()
        if room is not None:
            return room
    rooms = list(Room.objects.filter(number=value)[:2])
    if len(rooms) != 1:
        raise CommandError(f"Raum „{value}“: {'mehrdeutig' if rooms else 'nicht gefunden'} "
                           "(Raum-ID oder eindeutige Raumnummer angeben).")
    return rooms[0]


def _user(value: str):
    value = (value or "").strip()
    if not value:
        return None
    user = get_user_model().objects.filter(username=value).first()
    if user is None:
        raise CommandError(f"Benutzer „{value}“ gibt es nicht.")
    return user


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = ("Erzeugt Einmalcodes zur Kopplung von Arbeitsplatz-PCs (einer je Arbeitsplatz; "
            "gültig für --hours Stunden, einmal verwendbar). Wird protokolliert.")

    def add_arguments(self, parser):
        parser.add_argument("--as", "--admin", dest="actor", required=True,
                            metavar="BENUTZERNAME",
                            help="wer die Codes erzeugt (aktive Administration; Passwort und "
                                 "Zwei-Faktor-Code werden abgefragt)")
        parser.add_argument("--name", help="Bezeichnung des Geräts (mit --count: Präfix)")
        parser.add_argument("--room", help="Raum-ID oder eindeutige Raumnummer")
        parser.add_argument("--user", help="an diese Person gebunden (Benutzername)")
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument("--csv", help="Datei mit name;room;username je Zeile")
        parser.add_argument("--hours", type=int, default=enrolment.DEFAULT_HOURS)
        parser.add_argument("--kind", default="workstation")
        parser.add_argument("--alarm-templates", default="")

    def handle(self, *args, **opts):
        seats = []
        if opts["csv"]:
            text = Path(opts["csv"]).read_text(encoding="utf-8-sig")
            dialect = ";" if text.count(";") >= text.count(",") else ","
            for row in csv.reader(text.splitlines(), delimiter=dialect):
                if not row or not row[0].strip() or row[0].strip().lower() == "name":
                    continue
                row = [*row, "", ""]
                seats.append({"name": row[0], "room": _room(row[1]), "user": _user(row[2])})
        else:
            if not opts["name"]:
                raise CommandError("--name oder --csv angeben.")
            room, user = _room(opts["room"]), _user(opts["user"])
            count = opts["count"]
            seats = [{"name": opts["name"] if count == 1 else f"{opts['name']} {n}",
                      "room": room, "user": user} for n in range(1, count + 1)]
        admin = console.acting_person(opts["actor"], opts.get("stdin"))
        try:
            issued = enrolment.create_codes(admin, seats, hours=opts["hours"],
                                            kind=opts["kind"],
                                            alarm_templates=opts["alarm_templates"])
        except DomainError as exc:
            raise CommandError(str(getattr(exc, "detail", "") or exc)) from exc
        for clear, code in issued:
            room = str(code.room) if code.room else "–"
            until = timezone.localtime(code.expires_at).strftime("%d.%m.%Y %H:%M")
            self.stdout.write(f"{clear}\t{code.name}\t{room}\tgültig bis {until}")
