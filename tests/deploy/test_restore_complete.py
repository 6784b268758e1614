"""`beistand restore-complete`: one command restores, re-applies the application role's grants,
checks the ownership of the data directory and verifies the audit chain, the trail's
protections, the role's rights and the alarm engine's queries (docs/backup.md)."""

import os
import pwd
import secrets

import psycopg
import pytest
from django.db import connection

from beistand.backup import services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalogue")]


@pytest.fixture
def app_role():
    """A cluster role for the restored database's services; dropped after the target DB."""
    if connection.vendor != "postgresql":
        yield None
        return
    name = f"beistand_rc_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{name}" LOGIN')
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP ROLE IF EXISTS "{name}"')


def _role_args(role):
    me = ["--service-user", pwd.getpwuid(os.geteuid()).pw_name]
    return me + (["--app-role", role] if role else [])


def test_restore_complete_grants_and_verifies(app_role, backup_settings, target, tmp_path, org):
    archive = tmp_path / "sicherung.bak"
    services.create_backup(archive)
    out = target.run("restore-complete", str(archive), "--yes", *_role_args(app_role))
    assert "wiederhergestellt" in out.stdout
    assert "Geprüft: Audit-Kette" in out.stdout
    assert "Schutz des Audit-Protokolls" in out.stdout
    if app_role:
        assert f"Rechte der Rolle {app_role} gesetzt" in out.stdout
        # The application role can now work, and cannot change the trail.
        with psycopg.connect(target.url) as conn:
            ok = conn.execute(
                "SELECT has_table_privilege(%s, 'register_registerperson',"
                " 'SELECT,INSERT,UPDATE,DELETE'),"
                " has_table_privilege(%s, 'audit_auditevent', 'UPDATE'),"
                " has_table_privilege(%s, 'audit_auditevent', 'DELETE')",
                [app_role, app_role, app_role]).fetchone()
        assert ok == (True, False, False)
    # The same check standalone finds nothing to complain about.
    verify = target.run("audit", "verify")
    assert "Audit-Kette gültig" in verify.stdout


def test_restore_complete_fails_for_a_missing_role(backup_settings, target, tmp_path, org):
    if connection.vendor != "postgresql":
        pytest.skip("roles exist on PostgreSQL only")
    archive = tmp_path / "sicherung.bak"
    services.create_backup(archive)
    before = target.tables()
    out = target.run("restore-complete", str(archive), "--yes", *_role_args(None),
                     "--app-role", "beistand_no_such_role", check=False)
    assert out.returncode != 0
    assert "beistand_no_such_role" in out.stderr and "Nichts geändert" in out.stderr
    assert target.tables() == before
