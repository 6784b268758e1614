"""``beistand restore-complete FILE --app-role ROLE [--yes] [--force]``: the whole restore in one
command (docs/backup.md): ``beistand restore`` (database, files, migrate, re-applied deletions,
attachments, audit chain), then the application role's grants (deploy/postgres/grants.sql), the
ownership of BEISTAND_DATA_DIR, and a final check of the audit chain, the trail's protections,
the application role's rights and the alarm engine's queries. Exits non-zero naming what failed.

Runs with the database OWNER role (``beistand-admin --owner restore-complete …``): only the owner
may replace the tables and grant on them. As the service user nothing needs a new owner; run as
root, ``--service-user`` (default ``beistand``) gets BEISTAND_DATA_DIR back.
"""

import os
import pwd
import re
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from beistand.audit import protections
from beistand.audit.services import verify_chain

GRANTS_CANDIDATES = ("deploy/postgres/grants.sql",)


def grants_file(explicit: str | None) -> Path:
    """deploy/postgres/grants.sql of the installation (the working directory is the checkout
    under beistand-admin), else of the source tree this code runs from."""
    if explicit:
        return Path(explicit)
    for base in (Path.cwd(), Path(settings.PROJECT_ROOT)):
        for name in GRANTS_CANDIDATES:
            if (base / name).is_file():
                return base / name
    raise CommandError("deploy/postgres/grants.sql nicht gefunden; --grants DATEI angeben.")


def grant_statements(path: Path, role: str) -> list[str]:
    """The script's statements with psql's :"app" replaced by the quoted role name."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", role):
        raise CommandError(f"Ungültiger Rollenname {role!r}.")
    text = "\n".join(line for line in path.read_text().splitlines()
                     if not line.lstrip().startswith("--"))
    text = text.replace(':"app"', f'"{role}"')
    return [sql.strip() for sql in text.split(";") if sql.strip()]


def apply_grants(path: Path, role: str) -> int:
    statements = grant_statements(path, role)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    return len(statements)


def fix_ownership(data_dir: Path, user: str) -> tuple[int, list[str]]:
    """As root: give every file under data_dir to ``user``. Otherwise: list what the current
    user does not own (it could not be fixed without root)."""
    changed, foreign = 0, []
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        for path in [data_dir, *data_dir.rglob("*")]:
            st = path.lstat()
            if (st.st_uid, st.st_gid) != (entry.pw_uid, entry.pw_gid):
                os.lchown(path, entry.pw_uid, entry.pw_gid)
                changed += 1
        return changed, foreign
    uid = os.geteuid()
    for path in [data_dir, *data_dir.rglob("*")]:
        if path.lstat().st_uid != uid:
            foreign.append(str(path))
    return changed, foreign


def engine_problems() -> list[str]:
    """The alarm engine's first queries (due escalations, next deadline) run on the restored
    schema. The engine itself starts with the web processes: wait for /health/ready."""
    from beistand.alarms import dispatch

    try:
        dispatch.due_alarm_ids()
        dispatch.next_deadline()
    except Exception as exc:  # any failure here means the engine would fail in a loop
        return [f"Alarm-Engine: Abfragen scheitern ({type(exc).__name__})"]
    return []


class Command(BaseCommand):
    requires_system_checks = []
    help = ("Vollständige Wiederherstellung: Sicherung einspielen, Rechte der Anwendungsrolle "
            "(grants.sql) neu setzen, Eigentümer des Datenverzeichnisses richten und alles prüfen "
            "(Audit-Kette, Schutz, Rechte, Alarm-Engine). Mit der Eigentümer-Rolle ausführen.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="Sicherungsdatei von „beistand backup“")
        parser.add_argument("--app-role", default="beistand_app",
                            help="PostgreSQL-Rolle der Dienste (Standard beistand_app)")
        parser.add_argument("--grants", default=None,
                            help="grants.sql (Standard: deploy/postgres/grants.sql)")
        parser.add_argument("--service-user", default="beistand",
                            help="Eigentümer von BEISTAND_DATA_DIR, wenn als root ausgeführt")
        parser.add_argument("--yes", action="store_true", help="ohne Rückfrage")
        parser.add_argument("--force", action="store_true",
                            help="auch in eine nicht leere Datenbank (überschreibt)")

    def handle(self, *args, file, app_role, grants, service_user, yes, force, **options):
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(service_user)
            except KeyError:
                raise CommandError(f"Benutzer {service_user!r} gibt es nicht "
                                   "(--service-user).") from None
        postgres = connection.vendor == "postgresql"
        grants_path = grants_file(grants) if postgres else None
        if postgres:
            grant_statements(grants_path, app_role)  # a bad name or file stops before anything
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_user, rolsuper FROM pg_roles "
                               "WHERE rolname = current_user")
                user, superuser = cursor.fetchone()
                cursor.execute("SELECT pg_get_userbyid(datdba) FROM pg_database "
                               "WHERE datname = current_database()")
                db_owner = cursor.fetchone()[0]
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_role])
                if cursor.fetchone() is None:
                    raise CommandError(f"Die Anwendungsrolle {app_role} gibt es nicht "
                                       "(deploy/postgres/create.sql, --app-role). Nichts "
                                       "geändert.")
            if user != db_owner and not superuser:
                raise CommandError(
                    f"Die Wiederherstellung braucht die Eigentümer-Rolle der Datenbank "
                    f"({db_owner}), nicht {user}: beistand-admin --owner restore-complete …")
            if user == app_role:
                raise CommandError("--app-role ist die Rolle dieser Verbindung; die Dienste "
                                   "brauchen eine eigene Anwendungsrolle.")
        call_command("restore", file, yes=yes, force=force, stdout=self.stdout,
                     stderr=self.stderr)
        connection.close()  # the restore replaced the tables under this connection

        problems = []
        if postgres:
            count = apply_grants(grants_path, app_role)
            self.stdout.write(f"Rechte der Rolle {app_role} gesetzt ({grants_path}, "
                              f"{count} Anweisungen).")
        data_dir = Path(settings.DATA_DIR)
        changed, foreign = fix_ownership(data_dir, service_user)
        if changed:
            self.stdout.write(f"Eigentümer von {changed} Einträgen in {data_dir} auf "
                              f"{service_user} gesetzt.")
        if foreign:
            problems.append(f"{len(foreign)} Einträge in {data_dir} gehören einem anderen "
                            f"Benutzer (z. B. {foreign[0]}); als root mit --service-user "
                            "ausführen")

        chain = verify_chain()
        if not chain.ok:
            problems.append(f"Audit-Kette ungültig bei Zeile #{chain.bad_seq}: {chain.reason}")
        problems += protections.problems()
        if postgres:
            problems += [f"Rolle {app_role}: {p}"
                         for p in protections.own_privilege_problems(role=app_role)]
        problems += engine_problems()
        if problems:
            raise CommandError("Wiederherstellung unvollständig: " + "; ".join(problems),
                               returncode=1)
        self.stdout.write(
            f"Geprüft: Audit-Kette ({chain.checked} Zeilen), Schutz des Audit-Protokolls"
            + (f", Rechte der Rolle {app_role}" if postgres else "")
            + ", Abfragen der Alarm-Engine. Jetzt die Dienste starten und auf "
            "/health/ready warten.")
        sys.stdout.flush()
