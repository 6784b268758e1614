"""Database behaviour the suite and the audit trail rely on, on SQLite and PostgreSQL alike."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from beistand.audit import services as audit
from beistand.audit.models import AuditEvent, AuditHead


def _append(n):
    for i in range(n):
        with transaction.atomic():
            audit.record("test.flush", object_type="test", object_id=i)


# Two transactional tests in a row: each commits audit rows for real, and the flush between them
# (TRUNCATE ... CASCADE on PostgreSQL, DELETE on SQLite) must pass the append-only triggers.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", [1, 2])
def test_committed_audit_rows_are_flushed_between_transactional_tests(round_):
    assert AuditEvent.objects.count() == 0, "the previous test's flush left audit rows behind"
    head = AuditHead.objects.get(pk=1)
    assert head.last_seq == 0
    _append(3)
    assert AuditEvent.objects.count() == 3
    call_command("audit", "verify")


@pytest.mark.django_db
def test_postgres_refuses_truncate_of_audit_rows():
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE triggers exist on PostgreSQL only (SQLite has no TRUNCATE)")
    _append(2)
    for sql in ("TRUNCATE audit_auditevent", "TRUNCATE audit_auditevent CASCADE",
                "DELETE FROM audit_auditevent WHERE seq = 2"):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.count() == 2
    call_command("audit", "verify")


@pytest.mark.django_db
def test_missing_head_row_does_not_unlock_deletion_on_postgres():
    """Deleting the head row must not open the trail for deletion (PostgreSQL's strict rule)."""
    if connection.vendor != "postgresql":
        pytest.skip("the strict head rule is PostgreSQL's; SQLite's flush order forbids it")
    _append(1)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_audithead")
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == 1
