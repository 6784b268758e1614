"""The alarm path never waits behind other work (issue 19, item 4).

A real server process; while the slowest things the system does run at the same time - the
Art. 15 letter of a person with maximal aliases, the annual report and the statistics
dashboard's queries (HTTP, on the same server), a register import (2,000 rows here; 100,000 in
``bench/alarm_under_load.py``), a backup and a retention run (threads of the test process, as
the worker or an operator would run them) - alarms are triggered one after the other: every
alarm is confirmed (201), none gets a 5xx, every one reaches the receiver, none is lost, and
all the background work succeeds. Runs on SQLite and PostgreSQL (``DATABASE_URL``).
Nothing waits for time: each alarm follows the previous one's delivery, and the alarms go on
until every background job has finished.
"""

import asyncio
import os
import threading
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.alarms.models import Alarm
from beistand.backup import services as backup
from beistand.register import importer
from beistand.register import services as register
from beistand.register.models import Lookup, RegisterAddress, RegisterPerson
from beistand.register.rights import ALIAS_LENGTH, MAX_ALIASES
from tests.alarms.conftest import Receiver
from tests.alarms.server_process import ServerProcess

pytestmark = pytest.mark.django_db(transaction=True)

IMPORT_ROWS = 2000
DUE = 200
BACKUP_KEY = "under-load-backup-key-" + "k" * 32


def _register_fixtures(zks) -> int:
    """The person with every letter text at its bound, persons due for deletion, and look-ups
    that showed them. Returns the person's id."""
    today = timezone.localdate()
    with transaction.atomic():
        person = RegisterPerson.objects.create(
            last_name="M" * 100, first_names="V" * 150, birth_name="G" * 100,
            aliases=[f"{i:02d}" + "A" * (ALIAS_LENGTH - 2) for i in range(MAX_ALIASES)],
            date_of_birth=date(1980, 1, 1), hazard_level=2,
            last_incident_on=today - timedelta(days=30),
            review_on=today + timedelta(days=700), delete_on=today + timedelta(days=1500))
        for _ in range(3):
            RegisterAddress.objects.create(person=person, street="S" * 150,
                                           house_number="1" * 20, postal_code="5" * 10,
                                           city="O" * 100)
        due = RegisterPerson.objects.bulk_create([
            RegisterPerson(last_name=f"Faellig{i}", first_names="Test", hazard_level=1,
                           last_incident_on=today - timedelta(days=3000),
                           delete_on=today - timedelta(days=1)) for i in range(DUE)])
        Lookup.objects.bulk_create([
            Lookup(kind="person", querier=zks, querier_label="ZKS", unit_code="I/3",
                   purpose=f"Prüfung Faellig{i}", query={"last_name": f"Faellig{i}"},
                   shown=[due[i % DUE].pk, person.pk] if i % 3 == 0 else [due[i % DUE].pk])
            for i in range(2000)])
    return person.pk


def _import_file(path, rows: int) -> None:
    today = timezone.localdate()
    lines = ["last_name;first_names;aliases;date_of_birth;street;house_number;postal_code;"
             "city;hazard_level;offence_codes;last_incident_on"]
    for i in range(rows):
        tag = "".join("abcdefghij"[int(d)] for d in f"{i:05d}")
        lines.append(f"Altmann{tag};Karl {tag};Kalle{tag};"
                     f"{date(1950, 1, 1) + timedelta(days=i * 7):%d.%m.%Y};Hauptstraße;"
                     f"{i % 200 + 1};{50000 + i % 9000};Köln;{i % 3 + 1};insult;"
                     f"{today - timedelta(days=1 + i % 900)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class Job(threading.Thread):
    """A background job in a thread with its own database connection; keeps result or error."""

    def __init__(self, name, fn):
        super().__init__(name=name, daemon=True)
        self.fn = fn
        self.result = None
        self.error = None

    def run(self):
        try:
            self.result = self.fn()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            connections.close_all()


class HttpLoop(threading.Thread):
    """GETs the paths one after the other until stopped; counts the answers per status."""

    def __init__(self, base, token, paths):
        super().__init__(daemon=True)
        self.base, self.token, self.paths = base, token, paths
        self.statuses: list[tuple[str, int]] = []
        self.stop = threading.Event()

    def run(self):
        with httpx.Client(timeout=120,
                          headers={"Authorization": f"Bearer {self.token}"}) as http:
            while not self.stop.is_set():
                for path in self.paths:
                    response = http.get(f"{self.base}{path}")
                    self.statuses.append((path, response.status_code))

    @property
    def rounds(self) -> int:
        return len(self.statuses) // len(self.paths)


def _render_workers(parent: int) -> list[int]:
    """Live ``multiprocessing`` children of ``parent`` (its render workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next(int(line.split()[1]) for line in status.splitlines()
                    if line.startswith("PPid:"))
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def test_alarms_are_confirmed_and_delivered_while_the_slowest_work_runs(
        people, make_user, token, tmp_path, seeded_catalogues):
    zks = make_user("zks", roles=[Role.ZKS])
    stats = make_user("statistik", roles=[Role.STATISTICS])
    person_id = _register_fixtures(zks)
    csv_path = tmp_path / "altregister.csv"
    _import_file(csv_path, IMPORT_ROWS)
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])
    t_zks, t_stats = token(zks), token(stats)
    year = timezone.localdate().year

    # The documents' render worker runs at a lower priority: on a saturated shared machine a
    # letter can take minutes there; what is asserted is that none fails, not how fast.
    server = ServerProcess(BEISTAND_ALARM_USER_MAX_PER_MINUTE="0",
                           BEISTAND_RENDER_TIMEOUT_SECONDS="900").start(timeout=300)
    try:
        http_loops = [
            HttpLoop(server.http, t_zks,
                     [f"/api/v1/register/persons/{person_id}/access-report.pdf"]),
            HttpLoop(server.http, t_stats, [f"/api/v1/stats/annual-report/{year}.pdf"]),
            HttpLoop(server.http, t_stats, [
                "/api/v1/stats/incidents?group_by=month,level",
                "/api/v1/stats/incidents?group_by=unit,offence",
                "/api/v1/stats/key-figures", "/api/v1/stats/lead-times"]),
        ]
        jobs = [
            Job("import", lambda: importer.import_register(csv_path)),
            Job("backup", lambda: backup.create_backup(tmp_path / "sicherung.bak",
                                                       key=BACKUP_KEY)),
            Job("retention", lambda: register.run_retention()),
        ]

        def background_running() -> bool:
            return (any(job.is_alive() for job in jobs)
                    or any(loop.rounds < 1 for loop in http_loops))

        async def scenario():
            confirmed = []
            async with Receiver(server.ws, t_neighbour) as neighbour, \
                    httpx.AsyncClient(timeout=30) as http:
                async def alarm(n):
                    response = await http.post(
                        f"{server.http}/api/v1/alarms",
                        json={"template": "beistand", "client_id": f"load-{n}"},
                        headers={"Authorization": f"Bearer {t_sender}"})
                    assert response.status_code == 201, (n, response.status_code,
                                                         response.text)
                    alarm_id = response.json()["id"]
                    got = await neighbour.next_event(type="alarm", alarm_id=alarm_id,
                                                     timeout=30)
                    assert got["alarm_id"] == alarm_id
                    confirmed.append(alarm_id)

                await alarm(0)  # the receiver is connected and served before the load starts
                for worker in [*http_loops, *jobs]:
                    worker.start()
                n = 1
                while background_running():
                    await alarm(n)
                    n += 1
                await alarm(n)  # and after it
            return confirmed

        try:
            confirmed = asyncio.run(scenario())
        finally:
            for loop in http_loops:
                loop.stop.set()
            for worker in [*http_loops, *jobs]:
                worker.join(timeout=300)
        # The documents were laid out outside the process that served the alarms: in its
        # render worker, at a lower CPU priority (core.offload).
        workers = _render_workers(server.proc.pid)
        assert workers, "no render worker process under the server"
        assert {os.getpriority(os.PRIO_PROCESS, pid) for pid in workers} == {
            min(19, os.getpriority(os.PRIO_PROCESS, server.proc.pid) + settings.RENDER_NICE)}
    finally:
        server.stop()

    # Every alarm confirmed and delivered (asserted as they went), none lost.
    assert len(confirmed) == len(set(confirmed)) >= 3
    assert Alarm.objects.filter(pk__in=confirmed).count() == len(confirmed)
    # The background work overlapped the alarms and succeeded: no 5xx, nothing refused.
    for loop in http_loops:
        assert loop.statuses, loop.paths
        assert all(status == 200 for _, status in loop.statuses), loop.statuses
    errors = {job.name: job.error for job in jobs if job.error is not None}
    assert not errors, errors
    imported, made, retained = (job.result for job in jobs)
    assert imported.ok and imported.created == IMPORT_ROWS, imported.as_text()
    assert made.path.is_file() and made.size > 0
    assert retained.persons_deleted == DUE
    assert RegisterPerson.objects.filter(last_name__startswith="Altmann").count() == IMPORT_ROWS
