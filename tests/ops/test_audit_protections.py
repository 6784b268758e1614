"""`beistand audit verify` checks the trail's protections, not only its rows: a dropped, disabled
or altered trigger, and (PostgreSQL) a role allowed to change the events, fail the check. Each
case breaks the protection inside the test's transaction, which is rolled back afterwards."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from beistand.audit import guard, protections


def _verify():
    call_command("audit", "verify")


def _fails_with(text):
    with pytest.raises(CommandError) as failure:
        _verify()
    assert "Schutz des Audit-Protokolls unvollständig" in str(failure.value)
    assert text in str(failure.value)
    return str(failure.value)


def _exec(sql):
    # As the database's owner would (on SQLite the application's connection refuses this
    # outside schema maintenance, audit/guard.py).
    with guard.maintenance(), connection.cursor() as cursor:
        cursor.execute(sql)


def test_intact_protections_pass(db, capsys):
    assert protections.problems() == []
    _verify()
    assert "Audit-Kette gültig" in capsys.readouterr().out


def test_dropped_trigger_fails_verify(db):
    if connection.vendor == "sqlite":
        _exec("DROP TRIGGER audit_event_no_update")
    else:
        _exec("DROP TRIGGER audit_event_no_update ON audit_auditevent")
    _fails_with("Trigger audit_event_no_update auf audit_auditevent fehlt")


def test_dropped_head_trigger_fails_verify(db):
    if connection.vendor == "sqlite":
        _exec("DROP TRIGGER audit_head_no_delete")
        _fails_with("audit_head_no_delete")
    else:
        _exec("DROP TRIGGER audit_head_guard ON audit_audithead")
        _fails_with("audit_head_guard")


def test_trigger_replaced_by_a_harmless_one_fails_verify(db):
    if connection.vendor == "sqlite":
        _exec("DROP TRIGGER audit_event_no_delete")
        _exec("CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent "
              "BEGIN SELECT 1; END")
        _fails_with("Trigger audit_event_no_delete auf audit_auditevent ist verändert")
    else:
        _exec("CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$ "
              "BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql")
        _fails_with("Schutzfunktion audit_event_append_only() ist verändert")


def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (disabled triggers and grants do not exist in SQLite)")


def test_disabled_trigger_fails_verify(db):
    _postgres_only()
    _exec("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_update")
    _fails_with("Trigger audit_event_no_update auf audit_auditevent ist abgeschaltet")


def test_replica_only_trigger_fails_verify(db):
    _postgres_only()
    _exec("ALTER TABLE audit_audithead ENABLE REPLICA TRIGGER audit_head_guard")
    _fails_with("Trigger audit_head_guard auf audit_audithead ist abgeschaltet")


def test_role_allowed_to_change_events_fails_verify(db):
    _postgres_only()
    _exec("CREATE ROLE beistand_verify_probe NOLOGIN")
    _exec("GRANT SELECT, INSERT, UPDATE, DELETE ON audit_auditevent TO beistand_verify_probe")
    message = _fails_with("Rolle beistand_verify_probe darf DELETE, UPDATE auf audit_auditevent")
    assert "grants.sql" in message


def test_public_allowed_to_write_the_migration_record_fails_verify(db):
    _postgres_only()
    _exec("GRANT INSERT ON django_migrations TO PUBLIC")
    _fails_with("Rolle PUBLIC darf INSERT auf django_migrations")
