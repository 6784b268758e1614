"""deploy/postgres/grants.sql on a real PostgreSQL: the application role reads and writes the
data (including appending audit rows through the ORM) but cannot UPDATE, DELETE or TRUNCATE the
audit trail, disable its triggers, or create tables; tables of later migrations are granted by
default. A throw-away role in the test cluster, dropped afterwards."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)

GRANTS = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "grants.sql"


@pytest.fixture
def app_role():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL roles: runs in the PostgreSQL test run (DATABASE_URL)")
    name = f"beistand_app_t{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{name}" LOGIN')
        cursor.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{connection.settings_dict["NAME"]}"'
                       f' TO "{name}"')
        cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        # The script as the owner runs it after `beistand migrate` (here: the test user, who
        # created the test database's tables).
        cursor.execute(GRANTS.read_text().replace(':"app"', f'"{name}"'))
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{name}"')
            cursor.execute(f'DROP ROLE "{name}"')


def _connect(role):
    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432,
                           dbname=s["NAME"], user=role, autocommit=True)


def _denied(conn, sql):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(sql)


def test_app_role_cannot_change_the_audit_trail(app_role):
    with _connect(app_role) as conn:
        assert conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0] >= 0
        _denied(conn, "UPDATE audit_auditevent SET action = action")
        _denied(conn, "DELETE FROM audit_auditevent")
        _denied(conn, "TRUNCATE audit_auditevent")
        _denied(conn, "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL")
        _denied(conn, "DROP TRIGGER audit_event_no_update ON audit_auditevent")
        _denied(conn, "CREATE TABLE sneaky (id int)")
        _denied(conn, "DELETE FROM django_migrations")
        may = conn.execute(
            "SELECT has_table_privilege(current_user, 'audit_auditevent', 'INSERT'),"
            " has_table_privilege(current_user, 'organisation_orgunit', 'UPDATE'),"
            " has_table_privilege(current_user, 'organisation_orgunit', 'DELETE')").fetchone()
        assert may == (True, True, True)


def test_app_role_runs_the_application(app_role, tmp_path):
    """An audited write through the ORM as the application role: data row, audit row, head."""
    s = connection.settings_dict
    url = f"postgres://{app_role}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    code = (
        "import django; django.setup()\n"
        "from django.db import transaction\n"
        "from beistand.audit import services as audit\n"
        "from beistand.audit.models import AuditEvent\n"
        "from beistand.organisation.models import OrgUnit\n"
        "with transaction.atomic(), audit.acting_as(audit.Actor(user=None, label='test')):\n"
        "    unit = OrgUnit.objects.create(code='99', name='Rollentest', kind='amt')\n"
        "    unit.name = 'Rollentest 2'\n"
        "    unit.save()\n"
        "print(AuditEvent.objects.count())\n")
    env = {**os.environ, "DATABASE_URL": url, "BEISTAND_DATA_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "beistand.settings"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip().splitlines()[-1]) >= 2
    from beistand.audit.services import verify_chain

    assert verify_chain().ok


def test_tables_of_later_migrations_are_granted_by_default(app_role):
    with connection.cursor() as cursor:  # the owner adds a table, as a migration would
        cursor.execute("CREATE TABLE ops_later_migration (id bigserial PRIMARY KEY, x int)")
    try:
        with _connect(app_role) as conn:
            conn.execute("INSERT INTO ops_later_migration (x) VALUES (1)")
            conn.execute("UPDATE ops_later_migration SET x = 2")
            assert conn.execute("SELECT x FROM ops_later_migration").fetchone() == (2,)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE ops_later_migration")
