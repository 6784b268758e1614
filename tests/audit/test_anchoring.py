"""Issue 16, finding 4: the chain cannot be rewritten through the application's connection, and
signed checkpoints outside the database catch a rewrite by someone who can drop triggers."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from beistand.audit import checkpoint, guard, protection
from beistand.audit import services as audit
from beistand.audit.chain import event_fields, row_hash
from beistand.audit.models import AuditEvent, AuditHead

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keys(settings, tmp_path):
    settings.AUDIT_SIGNING_KEY_FILE = tmp_path / "signing.pem"
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "dpo" / "checkpoints.jsonl"


def _append(n, action="test.event"):
    for i in range(n):
        with transaction.atomic():
            audit.record(action, object_type="test", object_id=i, after={"i": i})


def _refused(sql, params=()):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, list(params))


def _rewrite_without(seq_to_remove):
    """The attack of the finding: delete a row, re-hash the rest, fix the head (here with the
    triggers dropped, as someone controlling the database server can; on SQLite the
    application's connection is refused this outside schema maintenance, audit/guard.py)."""
    with guard.maintenance():
        _rewrite_as_owner(seq_to_remove)


def _rewrite_as_owner(seq_to_remove):
    protection.remove(connection)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq >= %s", [seq_to_remove])
    kept = list(AuditEvent.objects.filter(seq__lt=seq_to_remove).order_by("seq"))
    later = [e for e in _removed_snapshot if e.seq > seq_to_remove]
    prev = kept[-1].hash if kept else "0" * 64
    seq = seq_to_remove
    with connection.cursor() as cursor:
        for event in later:
            fields = event_fields(event)
            fields.update(seq=seq, prev_hash=prev)
            digest = row_hash(fields)
            cursor.execute(
                "INSERT INTO audit_auditevent (seq, at, actor_id, actor_label, action, object_type,"
                " object_id, object_repr, purpose, before, after, remote_addr, prev_hash, hash)"
                " VALUES (%s, %s, NULL, %s, %s, %s, %s, %s, %s, NULL, %s, %s, %s, %s)",
                [seq, event.at, event.actor_label, event.action, event.object_type,
                 event.object_id, event.object_repr, event.purpose, json.dumps(event.after),
                 event.remote_addr, prev, digest])
            prev, seq = digest, seq + 1
        cursor.execute("UPDATE audit_audithead SET last_seq = %s, last_hash = %s WHERE id = 1",
                       [seq - 1, prev])
    # ... and puts the triggers back, so `audit verify` sees its protections in place.
    protection.install(connection)


_removed_snapshot: list = []


def test_app_connection_cannot_open_delete_or_move_the_head_back():
    _append(3)
    with transaction.atomic():
        audit.record("register.lookup", object_type="register.lookup", object_id=7,
                     purpose="Admin-Abfrage")
    _append(2)
    head = AuditHead.objects.get()
    # The former switch is gone, and none of the attack's steps passes the triggers.
    _refused("UPDATE audit_audithead SET allow_prune = 1 WHERE id = 1")
    _refused("DELETE FROM audit_auditevent WHERE seq = 4")
    _refused("UPDATE audit_auditevent SET action = 'test.event' WHERE seq = 4")
    _refused("UPDATE audit_audithead SET last_seq = 3, last_hash = %s WHERE id = 1",
             [AuditEvent.objects.get(seq=3).hash])
    _refused("UPDATE audit_audithead SET last_hash = %s WHERE id = 1", ["f" * 64])
    _refused("DELETE FROM audit_audithead")
    _refused("INSERT INTO audit_audithead (id, last_seq, last_hash) VALUES (2, 0, %s)",
             ["0" * 64])
    # A row slipped in anywhere but the head is refused too.
    _refused("INSERT INTO audit_auditevent (seq, at, actor_label, action, object_type, object_id,"
             " object_repr, purpose, remote_addr, prev_hash, hash) VALUES (%s, %s, 'x', 'x', '',"
             " '', '', '', '', %s, %s)", [head.last_seq + 1, "2026-01-01T00:00:00+00:00",
                                           "0" * 64, "e" * 64])
    if connection.vendor == "postgresql":
        _refused("TRUNCATE audit_audithead CASCADE")
    assert AuditEvent.objects.filter(action="register.lookup").exists()
    assert AuditHead.objects.get().last_seq == head.last_seq == 6
    call_command("audit", "verify")


def test_signed_checkpoint_detects_a_rewritten_chain(capsys):
    _append(3)
    with transaction.atomic():
        audit.record("register.lookup", object_type="register.lookup", object_id=7,
                     purpose="Admin-Abfrage")
    _append(2)
    call_command("audit", "checkpoint")
    checkpoint_file = checkpoint.settings.AUDIT_CHECKPOINT_FILE
    call_command("audit", "verify", "--checkpoint", str(checkpoint_file))
    assert "1 signierte Prüfpunkte bestätigt" in capsys.readouterr().out

    _removed_snapshot[:] = list(AuditEvent.objects.order_by("seq"))
    _rewrite_without(4)
    assert not AuditEvent.objects.filter(action="register.lookup").exists()
    call_command("audit", "verify")  # the chain alone cannot tell
    with pytest.raises(CommandError, match="Prüfpunkt") as err:
        call_command("audit", "verify", "--checkpoint", str(checkpoint_file))
    assert err.value.returncode == 1


def test_rewrite_that_keeps_the_length_is_caught_at_the_checkpointed_row():
    _append(4)
    cp = checkpoint.write_checkpoint()
    assert cp["seq"] == 4
    _append(2)
    _removed_snapshot[:] = list(AuditEvent.objects.order_by("seq"))
    _rewrite_without(2)
    result = checkpoint.verify_checkpoints(checkpoint.settings.AUDIT_CHECKPOINT_FILE)
    assert not result.ok and result.seq == 4
    assert "verändert" in result.reason


def test_checkpoint_signed_with_another_key_or_altered_is_refused(tmp_path):
    _append(2)
    cp = checkpoint.write_checkpoint()
    path = checkpoint.settings.AUDIT_CHECKPOINT_FILE
    # Forged by someone with their own key.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forged = checkpoint.sign(cp["seq"], cp["hash"], key=Ed25519PrivateKey.generate())
    other = tmp_path / "forged.jsonl"
    other.write_text(json.dumps(forged) + "\n")
    assert "fremden Schlüssel" in checkpoint.verify_checkpoints(other).reason
    # Our key, but the hash changed after signing.
    altered = dict(cp, hash="a" * 64)
    other.write_text(json.dumps(altered) + "\n")
    assert "Signatur" in checkpoint.verify_checkpoints(other).reason
    # The DPO's own copy of the public key is what counts.
    assert checkpoint.verify_checkpoints(path, public_key=cp["key"]).ok
    assert not checkpoint.verify_checkpoints(path, public_key=forged["key"]).ok


def test_checkpoint_job_writes_only_when_the_chain_grew():
    from beistand.core.scheduling import RunContext
    from beistand.ops.jobs import audit_checkpoint as write_checkpoint

    run = RunContext(now=None, worker_id="t", stale_after=None)
    _append(1)
    write_checkpoint(run)
    write_checkpoint(run)
    _append(1)
    write_checkpoint(run)
    lines = checkpoint.settings.AUDIT_CHECKPOINT_FILE.read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2]
    assert checkpoint.settings.AUDIT_SIGNING_KEY_FILE.stat().st_mode & 0o077 == 0
    # The key is not in the database: no audit row or table holds the private key's PEM.
    pem = checkpoint.settings.AUDIT_SIGNING_KEY_FILE.read_text()
    assert not AuditEvent.objects.filter(after__icontains=pem[40:80]).exists()
