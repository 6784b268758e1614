"""``beistand import-org FILE [FILE]``: import units and employees from CSV (HR/AD exports).

Exit codes: 0 all rows valid; 1 some rows rejected (the valid ones are imported unless
--dry-run or --strict); 2 a file as a whole is unusable (nothing imported).
"""

import json

from django.core.management.base import BaseCommand, CommandError

from beistand.organisation import importer


class Command(BaseCommand):
    help = ("Organisationseinheiten und Beschäftigte aus CSV importieren (Format: "
            "docs/organisation-import.md). Exit-Code 1, wenn Zeilen abgelehnt wurden.")

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE",
                            help="CSV-Datei(en); Einheiten und Beschäftigte dürfen zusammen "
                                 "in einem Aufruf kommen (empfohlen beim Erstimport)")
        parser.add_argument("--kind", choices=[importer.UNITS, importer.EMPLOYEES],
                            help="Art der Datei erzwingen (sonst an der Kopfzeile erkannt)")
        parser.add_argument("--delimiter", help="Trennzeichen, z. B. ';' (sonst erkannt)")
        parser.add_argument("--encoding",
                            help="Zeichenkodierung, z. B. utf-8-sig oder cp1252 (sonst erkannt)")
        parser.add_argument("--dry-run", action="store_true",
                            help="nur prüfen und berichten, nichts speichern")
        parser.add_argument("--strict", action="store_true",
                            help="bei einer abgelehnten Zeile gar nichts speichern")
        parser.add_argument("--json", action="store_true",
                            help="Bericht als JSON ausgeben")

    def handle(self, *args, files, kind, delimiter, encoding, dry_run, strict, json: bool,
               **options):
        try:
            report = importer.import_paths(files, kind=kind, delimiter=delimiter,
                                           encoding=encoding, dry_run=dry_run, strict=strict)
        except importer.ImportFileError as exc:
            raise CommandError(f"Import abgebrochen, nichts gespeichert: {exc}",
                               returncode=2) from exc
        if json:
            self.stdout.write(_dumps(report.as_dict()))
        else:
            self.stdout.write(report.as_text())
        if not report.ok:
            raise CommandError(f"{len(report.rejections)} Zeile(n) abgelehnt.", returncode=1)


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
