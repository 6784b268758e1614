"""``beistand report annual --year 2026 [--output FILE]``: the annual report as PDF."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from beistand.audit import services as audit
from beistand.core.errors import DomainError
from beistand.stats import services


class Command(BaseCommand):
    help = "Berichte der Statistik erzeugen: „report annual --year 2026“ (Jahresbericht, PDF)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="kind", required=True, metavar="annual")
        annual = sub.add_parser("annual", help="Jahresbericht als PDF")
        annual.add_argument("--year", type=int, required=True, help="Berichtsjahr, z. B. 2026")
        annual.add_argument("--output", "-o", help="Zieldatei (Standard: "
                                                   "jahresbericht-JAHR.pdf im aktuellen Ordner)")

    def handle(self, *args, kind, year, output=None, **options):
        started = time.perf_counter()
        try:
            with audit.acting_as(audit.Actor(user=None, label="beistand report annual")):
                name, pdf = services.render_annual_report(year)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        target = Path(output or name)
        try:
            target.write_bytes(pdf)
        except OSError as exc:
            raise CommandError(f"Datei {target} nicht schreibbar: {exc}") from exc
        self.stdout.write(f"Jahresbericht {year}: {target} ({len(pdf) // 1024} KiB, "
                          f"{time.perf_counter() - started:.1f} s)")
