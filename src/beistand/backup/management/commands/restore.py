"""``beistand restore FILE [--yes] [--force] [--check]``: restore a backup made by
``beistand backup``, then re-apply every deletion made after it (docs/backup.md).

Without ``--force`` only into an empty target (no tables in the database, no uploaded files).
``--check`` decrypts and verifies the archive and changes nothing.
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from beistand.backup import services
from beistand.backup.crypto import ArchiveDamaged, BackupKeyError
from beistand.backup.database import DatabaseError


class Command(BaseCommand):
    # A backup or restore must not depend on URL routing or templates being importable.
    requires_system_checks = []
    help = ("Datensicherung wiederherstellen (Datenbank und Dateien) und danach jede später "
            "erfolgte Löschung erneut ausführen.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="Sicherungsdatei von „beistand backup“")
        parser.add_argument("--yes", action="store_true", help="ohne Rückfrage")
        parser.add_argument("--force", action="store_true",
                            help="auch in eine nicht leere Datenbank / ein nicht leeres "
                                 "Datenverzeichnis (überschreibt)")
        parser.add_argument("--check", action="store_true",
                            help="nur entschlüsseln und prüfen, nichts ändern")

    def handle(self, *args, file, yes=False, force=False, check=False, **options):
        try:
            if check:
                manifest = services.check_backup(file)
                db = manifest["database"]
                created = services.local_time(manifest["created_at"])
                self.stdout.write(
                    f"Sicherung in Ordnung: erstellt {created}, beistand "
                    f"{manifest['beistand']}, {db['vendor']} {db['server_version']}, "
                    f"{len(manifest['files'])} Datei(en), Audit-Kette bis "
                    f"#{manifest['audit_head'].get('seq', 0)}.")
                return
            state = services.target_state()
            if not yes:
                if not sys.stdin.isatty():
                    raise CommandError("Ohne Terminal bitte mit --yes bestätigen.")
                answer = input(f"Sicherung {file} nach {state['database']} und "
                               f"{state['data_dir']} wiederherstellen? [j/N] ")
                if answer.strip().lower() not in ("j", "ja", "y", "yes"):
                    raise CommandError("Abgebrochen, nichts geändert.")
            result = services.restore_backup(file, force=force, stdout=self.stdout)
        except (BackupKeyError, ArchiveDamaged) as exc:
            raise CommandError(f"{exc} Nichts wurde geändert.") from exc
        except (services.BackupError, DatabaseError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(result.summary())
        if not result.chain.ok:
            raise CommandError("Die Audit-Kette ist nach der Wiederherstellung ungültig.")
        if result.attachments_bad:
            raise CommandError(f"{len(result.attachments_bad)} Anlage(n) fehlen oder sind "
                               "verändert (Anlagen-Nr. "
                               f"{', '.join(map(str, result.attachments_bad[:20]))}).")
