from django.core.management.base import BaseCommand, CommandError

from beistand.audit.services import verify_chain


class Command(BaseCommand):
    help = "Audit trail tools. 'audit verify' checks the hash chain of every audit row."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("verify", help="Recompute the hash chain; exit 1 naming the first bad row.")

    def handle(self, *args, subcommand, **options):
        if subcommand == "verify":
            result = verify_chain()
            if not result.ok:
                raise CommandError(
                    f"Audit-Kette ungültig bei Zeile #{result.bad_seq}: {result.reason} "
                    f"({result.checked} Zeilen davor geprüft).", returncode=1)
            self.stdout.write(f"Audit-Kette gültig: {result.checked} Zeilen geprüft.")
