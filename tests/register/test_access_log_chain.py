"""Issue 16, finding 6: the access log's content is inside the audit chain. Rewriting who was
looked up (``UPDATE register_lookup SET query=…, shown='[]'``) makes ``audit verify`` fail."""

from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from beistand.audit import services as audit
from beistand.audit.models import AuditEvent
from beistand.register import lookup, retention
from beistand.register.models import Lookup
from tests.register.test_lookup import PURPOSE, make_person, querier  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def looked_up(querier):  # noqa: F811
    person = make_person("Krawczyk", "Janusz", dob=date(1979, 3, 2))
    result = lookup.lookup_person(querier, PURPOSE, "Krawczyk", "Janusz",
                                  date_of_birth=date(1979, 3, 2))
    entry = Lookup.objects.get(pk=result["id"])
    assert entry.shown == [person.pk]
    return person, entry


def _verify_fails(match):
    with pytest.raises(CommandError, match=match) as err:
        call_command("audit", "verify")
    assert err.value.returncode == 1


def test_rewriting_query_and_shown_ids_breaks_verify(looked_up):
    _, entry = looked_up
    call_command("audit", "verify")
    event = AuditEvent.objects.get(action="register.lookup", object_id=str(entry.pk))
    # The digest is keyed: the name is not in the chain, and cannot be tested against it.
    assert "Krawczyk" not in str(event.after)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE register_lookup SET query = %s, shown = '[]' WHERE id = %s",
                       ['{"last_name": "Meier"}', entry.pk])
    _verify_fails(f"Abfrage #{entry.pk}")
    # The DPO's button reports it too.
    assert not audit.verify_and_record(None).ok


def test_shown_ids_alone_or_deleting_the_row_is_detected(looked_up):
    _, entry = looked_up
    with connection.cursor() as cursor:
        cursor.execute("UPDATE register_lookup SET shown = '[]' WHERE id = %s", [entry.pk])
    _verify_fails("angezeigte Personen")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM register_lookup WHERE id = %s", [entry.pk])
    _verify_fails("gelöscht")


def test_redacting_the_query_without_a_purge_is_detected(looked_up):
    _, entry = looked_up
    with connection.cursor() as cursor:
        cursor.execute("UPDATE register_lookup SET query = %s WHERE id = %s",
                       ['{"entfernt": ["date_of_birth", "first_name", "last_name"]}', entry.pk])
    _verify_fails(f"Abfrage #{entry.pk}")


def test_legitimate_purge_redaction_keeps_verify_green(looked_up, capsys):
    person, entry = looked_up
    retention.purge_person(person, "Art. 17")
    entry.refresh_from_db()
    assert "entfernt" in entry.query
    call_command("audit", "verify")
    assert "gültig" in capsys.readouterr().out


# --- Every column of the row is chained (attack review of finding 6) ----------------------------

@pytest.fixture
def detail_viewed(looked_up, querier):  # noqa: F811
    person, entry = looked_up
    result = lookup.lookup_detail(querier, entry.pk, person.pk)
    child = Lookup.objects.get(pk=result["id"])
    assert child.parent_id == entry.pk
    return entry, child


COLUMN_REWRITES = [
    ("purpose", "UPDATE register_lookup SET purpose = %s WHERE id = %s",
     "Az. 99/0-0000-0, Routine"),
    ("at", "UPDATE register_lookup SET at = %s WHERE id = %s", "2026-01-01 03:00:00"),
    ("unit_code", "UPDATE register_lookup SET unit_code = %s WHERE id = %s", "51"),
    ("querier_label", "UPDATE register_lookup SET querier_label = %s WHERE id = %s",
     "Jemand Anderes (xyz)"),
    ("keep_for_audit", "UPDATE register_lookup SET keep_for_audit = %s WHERE id = %s", True),
    ("kind", "UPDATE register_lookup SET kind = %s WHERE id = %s", "address"),
    ("query", "UPDATE register_lookup SET query = %s WHERE id = %s", '{"last_name": "Meier"}'),
    ("shown", "UPDATE register_lookup SET shown = %s WHERE id = %s", "[]"),
]


@pytest.mark.parametrize(("column", "sql", "value"), COLUMN_REWRITES,
                         ids=[c[0] for c in COLUMN_REWRITES])
def test_direct_sql_update_of_any_column_breaks_verify(looked_up, column, sql, value):
    _, entry = looked_up
    call_command("audit", "verify")
    with connection.cursor() as cursor:
        cursor.execute(sql, [value, entry.pk])
    _verify_fails(f"Abfrage #{entry.pk}")


def test_rewriting_the_querier_or_the_parent_breaks_verify(detail_viewed, make_user):
    entry, child = detail_viewed
    call_command("audit", "verify")
    other = make_user("anderer")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE register_lookup SET querier_id = %s WHERE id = %s",
                       [other.pk, child.pk])
    _verify_fails(f"Abfrage #{child.pk}")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE register_lookup SET querier_id = %s, parent_id = NULL "
                       "WHERE id = %s", [entry.querier_id, child.pk])
    # Unlinking the detail view from its look-up without a retention prune is detected too.
    _verify_fails(f"Abfrage #{child.pk}")


def test_the_dpos_keep_flag_is_chained_and_stays_green(looked_up, make_user, capsys):
    from beistand.accounts.roles import Role
    from beistand.register import access_log

    _, entry = looked_up
    dpo = make_user("dsb-kette", roles=[Role.DPO])
    access_log.keep_for_audit(dpo, entry.pk, "Prüfung Az. DS-9")
    call_command("audit", "verify")
    # Flipping it back by SQL (so the retention run deletes the row) is detected.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE register_lookup SET keep_for_audit = %s WHERE id = %s",
                       [False, entry.pk])
    _verify_fails(f"Abfrage #{entry.pk}")
    access_log.keep_for_audit(dpo, entry.pk, "Prüfung Az. DS-9", keep=True)
    call_command("audit", "verify")
    access_log.keep_for_audit(dpo, entry.pk, "Prüfung beendet", keep=False)
    call_command("audit", "verify")
    assert "gültig" in capsys.readouterr().out


def test_purge_redacts_query_and_purpose_and_stays_green(detail_viewed, capsys):
    entry, child = detail_viewed
    person = Lookup.objects.get(pk=entry.pk).shown[0]
    from beistand.register.models import RegisterPerson

    retention.purge_person(RegisterPerson.objects.get(pk=person), "Art. 17")
    call_command("audit", "verify")
    assert "gültig" in capsys.readouterr().out
    # After the redaction the purpose is fixed again.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE register_lookup SET purpose = %s WHERE id = %s",
                       ["Routine", child.pk])
    _verify_fails(f"Abfrage #{child.pk}")
