import contextlib
import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    connection,
    transaction,
)
from django.db.utils import InternalError

from beistand.audit import services as audit
from beistand.audit.models import AppendOnlyError, AuditEvent, AuditHead
from beistand.organisation.models import OrgUnit

pytestmark = pytest.mark.django_db

# DatabaseError: SQLite's authorizer (audit/guard.py) refuses while compiling the statement.
DB_REFUSED = (IntegrityError, OperationalError, InternalError, DatabaseError)


def _append(n):
    for i in range(n):
        with transaction.atomic():
            audit.record("test.event", object_type="test", object_id=i, after={"i": i})


@contextlib.contextmanager
def _as_database_owner():
    """Tampering by hand, as someone controlling the database: drop the triggers, then edit (on
    SQLite the application's connection is refused both outside schema maintenance,
    audit/guard.py)."""
    from beistand.audit import guard, protection

    with guard.maintenance():
        protection.remove(connection)
        yield


def _verify_fails_at(seq):
    with pytest.raises(CommandError) as err:
        call_command("audit", "verify")
    assert f"#{seq}" in str(err.value)
    assert err.value.returncode == 1


def test_chain_of_fresh_events_verifies(capsys):
    _append(5)
    call_command("audit", "verify")
    assert "5 Zeilen geprüft" in capsys.readouterr().out
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert AuditHead.objects.get().last_hash == events[-1].hash


def test_record_outside_transaction_is_refused():
    with pytest.raises(audit.AuditOutsideTransaction):
        audit.record("test.event")
    assert AuditEvent.objects.count() == 0


def test_orm_cannot_update_or_delete():
    _append(1)
    event = AuditEvent.objects.get()
    event.action = "forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(action="forged")


def test_database_refuses_raw_update_and_delete():
    _append(1)
    for sql in ("UPDATE audit_auditevent SET action = 'forged'", "DELETE FROM audit_auditevent"):
        with pytest.raises(DB_REFUSED), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.get().action == "test.event"


def test_verify_names_row_changed_by_hand():
    _append(4)
    with _as_database_owner(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET purpose = 'nachträglich' WHERE seq = 3")
    _verify_fails_at(3)


def test_verify_names_row_after_a_deleted_one():
    _append(4)
    with _as_database_owner(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = 2")
    _verify_fails_at(3)


def test_verify_detects_truncated_tail():
    _append(3)
    with _as_database_owner(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = 3")
    with pytest.raises(CommandError, match="Ende der Kette"):
        call_command("audit", "verify")


def test_verify_detects_reordered_rows():
    _append(3)
    with _as_database_owner(), connection.cursor() as cursor:
        # Re-link row 2 as if it came first: its content hash no longer matches.
        cursor.execute("UPDATE audit_auditevent SET prev_hash = %s WHERE seq = 2", ["0" * 64])
    _verify_fails_at(2)


def test_model_writes_are_audited_with_before_and_after():
    with transaction.atomic():
        unit = OrgUnit.objects.create(code="50", name="Sozialamt", kind="amt")
    with transaction.atomic():
        unit.name = "Amt für Soziales"
        unit.save()
    create, update = AuditEvent.objects.filter(object_type="organisation.orgunit")
    assert create.action == "organisation.orgunit.create"
    assert create.after["name"] == "Sozialamt"
    assert update.action == "organisation.orgunit.update"
    assert update.before == {"name": "Sozialamt"}
    assert update.after == {"name": "Amt für Soziales"}
    call_command("audit", "verify")


def test_model_write_outside_transaction_is_refused_and_not_written():
    with pytest.raises(audit.AuditOutsideTransaction):
        OrgUnit.objects.create(code="51", name="Jugendamt", kind="amt")
    assert not OrgUnit.objects.filter(code="51").exists()


def test_rollback_removes_action_and_audit_row_together():
    with pytest.raises(RuntimeError), transaction.atomic():
        OrgUnit.objects.create(code="52", name="Kämmerei", kind="amt")
        raise RuntimeError("abort")
    assert not OrgUnit.objects.filter(code="52").exists()
    assert not AuditEvent.objects.filter(object_type="organisation.orgunit").exists()
    call_command("audit", "verify")
