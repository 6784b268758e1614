"""/health/ready is not ready when the database role lacks its grants (grants.sql not run after a
restore or migration) or the audit protections are gone, and when an alarm-engine loop keeps
failing although its task is alive (it logs and retries forever)."""

import time
from pathlib import Path

import httpx
import pytest
from django.db import connection, transaction

from beistand.alarms.models import ServerProcess
from beistand.audit import guard
from beistand.ops import jobs as ops_jobs

GRANTS = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "grants.sql"


def _exec(sql):
    # As the database's owner would (on SQLite the application's connection refuses this
    # outside schema maintenance, audit/guard.py).
    with guard.maintenance(), connection.cursor() as cursor:
        cursor.execute(sql)


class _Undo(Exception):
    pass


def _ready_as(client, role):
    """GET /health/ready with the connection switched to ``role``, in a savepoint rolled back
    afterwards (a refused query aborts the transaction on PostgreSQL)."""
    answer = {}
    try:
        with transaction.atomic():
            _exec(f"SET LOCAL ROLE {role}")
            response = client.get("/health/ready")
            answer.update(status=response.status_code, checks=response.json()["checks"])
            raise _Undo
    except _Undo:
        pass
    return answer


def test_grants_check_passes_on_an_intact_database(client, db):
    checks = client.get("/health/ready").json()["checks"]
    assert checks["grants"]["status"] == "ok", checks["grants"]


def test_dropped_audit_trigger_is_not_ready(client, db):
    if connection.vendor == "sqlite":
        _exec("DROP TRIGGER audit_event_no_update")
    else:
        _exec("DROP TRIGGER audit_event_no_update ON audit_auditevent")
    response = client.get("/health/ready")
    assert response.status_code == 503
    grants = response.json()["checks"]["grants"]
    assert grants["status"] == "fail"
    assert "audit_event_no_update" in grants["detail"]


def test_not_ready_without_grants_then_ready_with_them(client, db):
    if connection.vendor != "postgresql":
        pytest.skip("grants exist on PostgreSQL only (runs in the PostgreSQL test run)")
    # A fresh application role, as after a restore without grants.sql; rolled back at the end.
    _exec("CREATE ROLE beistand_ready_probe NOLOGIN")
    answer = _ready_as(client, "beistand_ready_probe")
    assert answer["status"] == 503
    grants = answer["checks"]["grants"]
    assert grants["status"] == "fail"
    assert "fehlende Rechte" in grants["detail"] and "grants.sql" in grants["detail"]
    # Only the grants check: the others may fail as well (no rights), which is right too.

    _exec(GRANTS.read_text().replace(':"app"', '"beistand_ready_probe"'))
    grants = _ready_as(client, "beistand_ready_probe")["checks"]["grants"]
    assert grants["status"] == "ok", grants


def test_role_that_may_delete_the_audit_trail_is_not_ready(client, db):
    if connection.vendor != "postgresql":
        pytest.skip("grants exist on PostgreSQL only (runs in the PostgreSQL test run)")
    _exec("CREATE ROLE beistand_ready_probe NOLOGIN")
    _exec(GRANTS.read_text().replace(':"app"', '"beistand_ready_probe"'))
    _exec("GRANT DELETE ON audit_auditevent TO beistand_ready_probe")  # grants.sql undone
    grants = _ready_as(client, "beistand_ready_probe")["checks"]["grants"]
    assert grants["status"] == "fail"
    assert "Audit-Protokoll ändern oder löschen" in grants["detail"]


def _engine_check(srv):
    return httpx.get(f"{srv.http}/health/ready", timeout=10).json()["checks"]["alarm_engine"]


def _wait_for(srv, predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        check = _engine_check(srv)
        if predicate(check):
            return check
        assert time.monotonic() < deadline, check
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_failing_engine_loop_is_not_ready(settings):
    from tests.alarms.conftest import ServerThread

    ops_jobs.beat("worker-test")
    table = ServerProcess._meta.db_table
    srv = ServerThread().start()
    try:
        _wait_for(srv, lambda c: c["status"] == "ok")
        # The engine's heartbeat writes this table every 5 s: take it away.
        _exec(f"ALTER TABLE {table} RENAME TO {table}_gone")
        try:
            check = _wait_for(srv, lambda c: c["status"] == "fail")
            assert "fehlschlagende Hintergrundschleifen" in check["detail"]
            assert "heartbeat" in check["detail"]
        finally:
            _exec(f"ALTER TABLE {table}_gone RENAME TO {table}")
        # Once the loop succeeds again, the process is ready again.
        _wait_for(srv, lambda c: c["status"] == "ok")
    finally:
        srv.stop()


def test_apply_grants_command_gives_the_role_its_rights(db):
    from django.core.management import call_command

    from beistand.audit import protections

    if connection.vendor != "postgresql":
        pytest.skip("grants exist on PostgreSQL only (runs in the PostgreSQL test run)")
    _exec("CREATE ROLE beistand_ready_probe NOLOGIN")
    assert protections.own_privilege_problems(role="beistand_ready_probe")
    call_command("apply_grants", "--app-role", "beistand_ready_probe")
    assert protections.own_privilege_problems(role="beistand_ready_probe") == []
