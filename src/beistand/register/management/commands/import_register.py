"""``beistand import-register FILE.csv``: take over a legacy register (format: docs/register.md).

Exit codes: 0 all rows valid; 1 some rows rejected (the valid ones are imported unless
--dry-run); 2 the file as a whole is unusable (nothing imported).
"""

from django.core.management.base import BaseCommand, CommandError

from beistand.register import importer


class Command(BaseCommand):
    help = ("Altregister aus CSV übernehmen (Format: docs/register.md). Exit-Code 1, wenn "
            "Zeilen abgelehnt wurden.")

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE.csv")
        parser.add_argument("--dry-run", action="store_true",
                            help="nur prüfen und berichten, nichts speichern")
        parser.add_argument("--delimiter", help="Trennzeichen, z. B. ';' (sonst erkannt)")
        parser.add_argument("--encoding",
                            help="Zeichenkodierung, z. B. utf-8 oder cp1252 (sonst erkannt)")

    def handle(self, *args, file, dry_run, delimiter, encoding, **options):
        try:
            report = importer.import_register(file, dry_run=dry_run, delimiter=delimiter,
                                              encoding=encoding, stdout=self.stderr)
        except importer.ImportFileError as exc:
            raise CommandError(f"Import abgebrochen, nichts gespeichert: {exc}",
                               returncode=2) from exc
        self.stdout.write(report.as_text())
        if not report.ok:
            raise CommandError(f"{len(report.rejections)} Zeile(n) abgelehnt.", returncode=1)
