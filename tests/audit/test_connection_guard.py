"""Issue 16 follow-up (attack review, 5): on SQLite the application's own connection dropped
the append-only triggers, deleted rows since the last checkpoint and re-hashed; the signing key
and the checkpoint file lay in the writable data directory. On PostgreSQL the trigger functions
had no fixed search_path: a temporary table of the session stood in for the trail's head.

Now the SQLite connection's authorizer refuses what takes the trail apart outside schema
maintenance (``audit/guard.py``), the trigger functions run with ``search_path = pg_catalog,
pg_temp`` and schema-qualified tables (checked by ``audit verify``), checkpoints also go to the
system log and ``verify`` reads those lines, and start-up refuses (strict) or warns when the
anchor lies in the data directory."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from beistand.audit import checkpoint, guard
from beistand.audit import services as audit
from beistand.audit.models import AuditEvent, AuditHead

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _keys(settings, tmp_path):
    settings.AUDIT_SIGNING_KEY_FILE = tmp_path / "signing.pem"
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "dpo" / "checkpoints.jsonl"


def _append(n):
    for i in range(n):
        with transaction.atomic():
            audit.record("test.event", object_type="test", object_id=i, after={"i": i})


def _refused(sql, params=()):
    with pytest.raises(DatabaseError) as err, transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(sql, list(params))
    return str(err.value)


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres')")
def test_sqlite_app_connection_cannot_take_the_trail_apart(tmp_path):
    _append(3)
    with transaction.atomic():
        audit.record("register.lookup", object_type="register.lookup", object_id=7,
                     purpose="Admin-Abfrage")
    _append(2)
    # The attack: drop the guards, delete since the checkpoint, re-hash. Each step is refused
    # while SQLite compiles it ("not authorized"), before it runs.
    assert "not authorized" in _refused("DROP TRIGGER audit_event_no_delete")
    assert "not authorized" in _refused("DROP TRIGGER IF EXISTS audit_head_forward_only")
    assert "not authorized" in _refused("DELETE FROM audit_auditevent WHERE seq = 4")
    assert "not authorized" in _refused("DELETE FROM audit_audithead")
    assert "not authorized" in _refused("UPDATE audit_auditevent SET action = 'x' WHERE seq = 4")
    # ... nor around the triggers: editing sqlite_master, renaming or dropping the table, a
    # trigger that swallows appends, the same file attached under another name.
    assert "not authorized" in _refused("PRAGMA writable_schema = ON")
    assert "not authorized" in _refused("ALTER TABLE audit_auditevent RENAME TO old_events")
    assert "not authorized" in _refused("DROP TABLE audit_audithead")
    assert "not authorized" in _refused(
        "CREATE TEMP TRIGGER swallow BEFORE INSERT ON main.audit_auditevent "
        "BEGIN SELECT RAISE(IGNORE); END")
    assert "not authorized" in _refused(
        "CREATE TRIGGER audit_event_no_delete2 BEFORE DELETE ON audit_auditevent "
        "BEGIN SELECT 1; END")
    with connection.cursor() as cursor:
        cursor.execute("ATTACH DATABASE %s AS twin", [connection.settings_dict["NAME"]])
    try:
        assert "not authorized" in _refused("DROP TRIGGER twin.audit_event_no_delete")
        assert "not authorized" in _refused("DELETE FROM twin.audit_auditevent")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DETACH DATABASE twin")
    # A REPLACE that collides with an audit row would delete it without a DELETE statement
    # (review finding): the delete trigger fires for it, and the pragma stays on.
    with connection.cursor() as cursor:
        cursor.execute("SELECT hash FROM audit_auditevent WHERE seq = 4")
        (hash4,) = cursor.fetchone()
    columns = [f.column for f in AuditEvent._meta.concrete_fields]
    copied = ", ".join("99" if c == "seq" else c for c in columns)
    message = _refused(
        f"INSERT OR REPLACE INTO audit_auditevent ({', '.join(columns)}) "
        f"SELECT {copied} FROM audit_auditevent WHERE seq = 4")
    assert "not authorized" not in message  # refused by the append-only trigger itself
    assert AuditEvent.objects.filter(seq=4, hash=hash4).exists()
    assert "not authorized" in _refused("PRAGMA recursive_triggers = OFF")
    # Everything else of the application still works, and the trail is whole.
    _append(1)
    assert AuditEvent.objects.filter(action="register.lookup").exists()
    assert AuditHead.objects.get().last_seq == 7
    call_command("audit", "verify")


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres')")
def test_schema_maintenance_opens_the_guard_only_while_it_runs():
    assert not guard.is_open()
    with guard.maintenance(), connection.cursor() as cursor:
        # As a migration does (rolled back with the test).
        cursor.execute("DROP TRIGGER audit_event_no_delete")
        cursor.execute("CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent "
                       "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END")
    assert not guard.is_open()
    assert "not authorized" in _refused("DROP TRIGGER audit_event_no_delete")
    # The migrate and flush commands are this app's, opening the guard.
    from django.core.management import get_commands

    assert get_commands()["migrate"] == "beistand.audit"
    assert get_commands()["flush"] == "beistand.audit"


@pytest.mark.skipif("not os.environ.get('DATABASE_URL', '').startswith('postgres')")
def test_postgres_temp_table_cannot_stand_in_for_the_head():
    """The search_path hijack: pg_temp comes first in the default search path, so a trigger
    function that names ``audit_audithead`` unqualified read the session's own temporary table
    and accepted an event anywhere in the chain."""
    _append(2)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
        cursor.execute("CREATE TEMP TABLE audit_audithead (id int, last_seq bigint, "
                       "last_hash varchar(64))")
        cursor.execute("INSERT INTO pg_temp.audit_audithead VALUES (1, 99, %s)", ["9" * 64])
    _refused(f'INSERT INTO "{schema}".audit_auditevent (seq, at, actor_label, action, '
             "object_type, object_id, object_repr, purpose, remote_addr, prev_hash, hash) "
             "VALUES (100, now(), 'x', 'forged', '', '', '', '', '', %s, %s)",
             ["9" * 64, "e" * 64])
    assert not AuditEvent.objects.filter(action="forged").exists()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE pg_temp.audit_audithead")
        cursor.execute("""SELECT p.proname, array_to_string(p.proconfig, '|'), p.prosecdef
                          FROM pg_proc p WHERE p.proname IN
                          ('audit_event_append_only', 'audit_head_forward_only')""")
        functions = cursor.fetchall()
    assert len(functions) == 2
    assert all(config == "search_path=pg_catalog, pg_temp" and not definer
               for _, config, definer in functions), functions


@pytest.mark.skipif("not os.environ.get('DATABASE_URL', '').startswith('postgres')")
def test_postgres_verify_names_a_function_without_fixed_search_path():
    call_command("audit", "verify")
    with connection.cursor() as cursor:
        cursor.execute("ALTER FUNCTION audit_event_append_only() RESET search_path")
    with pytest.raises(CommandError, match="keinen festen search_path"):
        call_command("audit", "verify")


def test_checkpoint_goes_to_the_system_log_and_verify_reads_those_lines(settings, tmp_path):
    """The copy out of the service user's reach: a syslog receiver (here a real UDP socket,
    as a remote syslog or journald's socket receives it)."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(10)
    settings.AUDIT_CHECKPOINT_SYSLOG = f"127.0.0.1:{receiver.getsockname()[1]}"
    try:
        _append(3)
        written = checkpoint.write_checkpoint()
        datagram = receiver.recv(65535).decode()
    finally:
        receiver.close()
    assert datagram.startswith("<") and "beistand-audit: audit checkpoint {" in datagram
    # The DPO's copy from the log (journalctl ... | grep 'audit checkpoint') verifies.
    journal = tmp_path / "journal.txt"
    journal.write_text(f"Dec 07 15:00:00 host {datagram.split('>', 1)[1]}\n")
    result = checkpoint.verify_checkpoints(journal, public_key=written["key"])
    assert result.ok and result.checkpoints == 1


def test_anchor_in_the_data_dir_is_named(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.AUDIT_SIGNING_KEY_FILE = tmp_path / "audit_signing_key.pem"
    settings.AUDIT_CHECKPOINT_FILE = Path("/srv/dsb/checkpoints.jsonl")
    settings.AUDIT_CHECKPOINT_SYSLOG = "/dev/log"
    assert checkpoint.anchor_problems() == [
        "Der Signaturschlüssel der Prüfpunkte liegt im Datenverzeichnis "
        "(BEISTAND_AUDIT_SIGNING_KEY_FILE)"]


def test_strict_start_up_refuses_an_anchor_in_the_data_dir(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEISTAND_AUDIT_")}
    env.update(BEISTAND_DATA_DIR=str(tmp_path / "data"), BEISTAND_AUDIT_ANCHOR_STRICT="true")
    beistand = str(Path(sys.executable).with_name("beistand"))
    refused = subprocess.run([beistand, "check"], env=env, capture_output=True, text=True,
                             timeout=120, cwd=ROOT)
    assert refused.returncode == 2, refused.stderr
    assert "BEISTAND_AUDIT_SIGNING_KEY_FILE and BEISTAND_AUDIT_CHECKPOINT_FILE must lie " \
           "outside BEISTAND_DATA_DIR" in refused.stderr
    env.update(BEISTAND_AUDIT_SIGNING_KEY_FILE=str(tmp_path / "etc" / "key.pem"),
               BEISTAND_AUDIT_CHECKPOINT_FILE=str(tmp_path / "dsb" / "cp.jsonl"))
    started = subprocess.run([beistand, "check"], env=env, capture_output=True, text=True,
                             timeout=120, cwd=ROOT)
    assert started.returncode == 0, started.stderr


def test_verify_warns_about_an_anchor_in_reach(settings, capsys):
    settings.AUDIT_SIGNING_KEY_FILE = Path(settings.DATA_DIR) / "audit_signing_key.pem"
    _append(1)
    call_command("audit", "verify")
    assert "Warnung: Der Signaturschlüssel" in capsys.readouterr().err
