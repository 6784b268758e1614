"""``beistand apply-grants [--app-role beistand_app]``: run deploy/postgres/grants.sql with the
connection of this command (the OWNER role: ``beistand-admin --owner apply-grants``), then check
the application role's rights and the audit trail's protections. After every ``migrate``; no
password on a command line (the owner's comes from PGPASSFILE)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from beistand.audit import protections
from beistand.backup.management.commands.restore_complete import apply_grants, grants_file


class Command(BaseCommand):
    help = ("Rechte der Anwendungsrolle setzen (deploy/postgres/grants.sql) und prüfen; mit der "
            "Eigentümer-Rolle nach jedem migrate ausführen.")

    def add_arguments(self, parser):
        parser.add_argument("--app-role", default="beistand_app")
        parser.add_argument("--grants", default=None,
                            help="grants.sql (Standard: deploy/postgres/grants.sql)")

    def handle(self, *args, app_role, grants, **options):
        if connection.vendor != "postgresql":
            self.stdout.write("SQLite: keine Rollen, nichts zu tun.")
            return
        path = grants_file(grants)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_role])
            if cursor.fetchone() is None:
                raise CommandError(f"Die Anwendungsrolle {app_role} gibt es nicht.")
        count = apply_grants(path, app_role)
        problems = protections.problems() + [
            f"Rolle {app_role}: {p}" for p in protections.own_privilege_problems(role=app_role)]
        if problems:
            raise CommandError("Rechte unvollständig: " + "; ".join(problems), returncode=1)
        self.stdout.write(f"Rechte der Rolle {app_role} gesetzt ({path}, {count} Anweisungen) "
                          "und geprüft.")
