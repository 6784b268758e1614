"""``beistand retention run [--today YYYY-MM-DD] [--dry-run]``: delete what is due.

Persons whose deletion date has come (purged, no personal data left) and look-up log rows past
their retention (unless flagged for an ongoing audit). Idempotent; the worker runs it daily.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from beistand.register.retention import run_retention


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Ungültiges Datum „{value}“ (erwartet JJJJ-MM-TT).") from None


class Command(BaseCommand):
    help = ("Aufbewahrungsfristen des Registers: fällige Personen und alte Einträge des "
            "Abfrageprotokolls löschen.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        run = sub.add_parser("run", help="Löscht, was fällig ist (wiederholbar).")
        run.add_argument("--today", help="Stichtag JJJJ-MM-TT (Standard: heute)")
        run.add_argument("--dry-run", action="store_true",
                         help="nur zählen, was gelöscht würde; nichts ändern")

    def handle(self, *args, subcommand, **options):
        if subcommand == "run":
            today = _date(options["today"]) if options.get("today") else None
            if today is not None and today > timezone.localdate() and not options["dry_run"]:
                # A date in the future would delete what is not due yet - today's look-ups,
                # the evidence of a curious one (issue 16, re-attack). Looking ahead is fine.
                raise CommandError("--today darf nicht in der Zukunft liegen (nur mit "
                                   "--dry-run, um zu sehen, was dann fällig wäre).")
            run_retention(today=today, stdout=self.stdout, dry_run=options["dry_run"])
