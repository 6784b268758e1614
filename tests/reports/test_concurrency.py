"""Two people press the same button at the same moment: exactly one step happens.

Each thread has its own database connection. On PostgreSQL the second ``SELECT … FOR UPDATE``
waits for the first transaction and then sees the new state; on SQLite the IMMEDIATE transaction
of the second writer waits at BEGIN. Either way the loser gets a Conflict and one status row
is written.
"""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from beistand.core.errors import Conflict
from beistand.reports import catalogue as seed
from beistand.reports import services
from beistand.reports.models import Offence, Report, Status, StatusChange
from tests.reports.conftest import report_input

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalogue")]

ROUNDS = 3


@pytest.fixture
def catalogue():
    """The offences of migration reports/0002: a transactional test's flush may have removed
    them (serialized_rollback clashes with role groups re-created after a flush)."""
    with transaction.atomic():
        for sort, (code, label, level, attack) in enumerate(seed.OFFENCES):
            Offence.objects.get_or_create(code=code, defaults={
                "label": label, "level": level, "attack": attack, "sort": sort})


def _race(actors, report_id, action, payload=None):
    barrier = threading.Barrier(len(actors))
    outcomes = []
    lock = threading.Lock()

    def run(user):
        try:
            barrier.wait(timeout=10)
            services.transition(user, report_id, action, payload or {})
            result = "ok"
        except Conflict as exc:
            result = ("conflict", exc.errors)
        except Exception as exc:  # any other outcome fails the assertion below
            result = ("error", repr(exc))
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(user,)) for user in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a transition hung"
    return outcomes


def _check_double_release(cast):
    for _ in range(ROUNDS):
        report = services.create_report(cast["melder"], report_input(), submit=True)
        outcomes = _race([cast["chefin"], cast["chefin"]], report.pk, "release")
        assert sorted(o if o == "ok" else o[0] for o in outcomes) == ["conflict", "ok"], \
            outcomes
        loser = next(o for o in outcomes if o != "ok")
        assert loser[1][0]["allowed_actions"] == []  # released: nothing left for her
        assert Report.objects.get(pk=report.pk).status == Status.RELEASED
        assert StatusChange.objects.filter(report=report, action="release").count() == 1


def _check_waits_for_the_lock(cast):
    """Deterministic overlap: A holds the report's lock while B tries; B waits, then loses."""
    report = services.create_report(cast["melder"], report_input(), submit=True)
    a_has_lock, b_started = threading.Event(), threading.Event()
    result = {}

    def a():
        try:
            with transaction.atomic():
                Report.objects.select_for_update().get(pk=report.pk)
                a_has_lock.set()
                b_started.wait(10)
                time.sleep(0.5)
                result["b_finished_while_a_held_the_lock"] = "b" in result
                services.transition(cast["chefin"], report.pk, "release")
            result["a"] = "ok"
        finally:
            connections.close_all()

    def b():
        a_has_lock.wait(10)
        b_started.set()
        try:
            services.transition(cast["chefin"], report.pk, "release")
            result["b"] = "ok"
        except Conflict:
            result["b"] = "conflict"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert result == {"a": "ok", "b": "conflict", "b_finished_while_a_held_the_lock": False}
    assert StatusChange.objects.filter(report=report, action="release").count() == 1


@pytest.mark.postgres
def test_double_release_on_postgresql(cast):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://…)")
    _check_double_release(cast)
    _check_waits_for_the_lock(cast)


def test_double_release_on_sqlite(cast):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant")
    _check_double_release(cast)
    _check_waits_for_the_lock(cast)


def test_publish_and_close_at_once(cast, make_user, org):
    """Two ZKS clerks decide differently at the same moment: one decision wins, never both."""
    from beistand.accounts.roles import Role

    second = make_user("zks2", roles=[Role.ZKS], unit=org["zks"])
    report = services.create_report(cast["melder"], report_input(), submit=True)
    services.transition(cast["chefin"], report.pk, "release")
    services.transition(cast["personal"], report.pk, "file_complaint",
                        {"police_file_number": "KK-1"})
    barrier = threading.Barrier(2)
    results = {}

    def run(user, action, payload):
        try:
            barrier.wait(timeout=10)
            services.transition(user, report.pk, action, payload)
            results[action] = "ok"
        except Conflict:
            results[action] = "conflict"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(cast["zks"], "publish", {})),
               threading.Thread(target=run, args=(second, "close", {"reason": "doppelt"}))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results.values()) == ["conflict", "ok"], results
    final = Report.objects.get(pk=report.pk).status
    assert final in (Status.PUBLISHED, Status.CLOSED)
    assert StatusChange.objects.filter(report=report, from_status=Status.COMPLAINT_FILED
                                       ).count() == 1
