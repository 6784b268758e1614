"""``beistand backup --output FILE``: encrypted backup of the database and the data directory.

The key comes from ``BEISTAND_BACKUP_KEY``; ``beistand backup --new-key`` prints a fresh one.
See docs/backup.md.
"""

import secrets

from django.core.management.base import BaseCommand, CommandError

from beistand.backup import services
from beistand.backup.crypto import BackupKeyError
from beistand.backup.database import DatabaseError


class Command(BaseCommand):
    # A backup or restore must not depend on URL routing or templates being importable.
    requires_system_checks = []
    help = ("Datensicherung: konsistenter Schnappschuss der Datenbank und der hochgeladenen "
            "Dateien, verschlüsselt mit BEISTAND_BACKUP_KEY.")

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="Zieldatei (wird nicht überschrieben)")
        parser.add_argument("--new-key", action="store_true",
                            help="einen neuen zufälligen Schlüssel ausgeben und beenden")

    def handle(self, *args, output=None, new_key=False, **options):
        if new_key:
            self.stdout.write(secrets.token_urlsafe(32))
            return
        if not output:
            raise CommandError("Bitte die Zieldatei mit --output DATEI angeben.")
        try:
            services.create_backup(output, stdout=self.stdout)
        except (BackupKeyError, services.BackupError, DatabaseError, OSError) as exc:
            raise CommandError(str(exc)) from exc
