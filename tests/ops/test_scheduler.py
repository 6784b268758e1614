"""The one scheduler: jobs declared by the apps in their jobs.py, collected and run by the
worker; a failing job does not stop the others; daily jobs once per local day; mail last."""

import re
from datetime import datetime, timedelta
from importlib import import_module
from pathlib import Path

import pytest
from django.utils import timezone

from beistand.core.scheduling import DAILY, ROUND, SERVER, TICK, WORKER, Job
from beistand.ops.scheduler import Scheduler, collect
from beistand.ops.worker import BeistandWorker

pytestmark = pytest.mark.django_db


def test_every_app_job_is_collected():
    assert [job.name for job in collect()] == [
        "reports.deadlines", "register.rights_reminders", "register.retention", "notify.mail",
        "alarms.upkeep", "mobile.visit_timers", "ops.heartbeat", "ops.supervision",
        "ops.audit_checkpoint"]
    assert all(job.doc for job in collect())


def test_the_job_table_in_the_operations_docs_lists_exactly_the_collected_jobs():
    text = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    section = text.split("## The worker: scheduled jobs and the outbox", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", section, flags=re.MULTILINE)
    assert documented == [job.name for job in collect()]


def test_jobs_run_in_order_mail_last_and_a_failure_stops_nothing(caplog):
    ran = []

    def broken(run):
        ran.append("broken")
        raise RuntimeError("kaputt")

    scheduler = Scheduler([
        Job("test.mail", TICK, lambda run: ran.append("mail")),
        Job("test.broken", ROUND, broken),
        Job("test.daily", DAILY, lambda run: ran.append(("daily", run.now))),
    ], round_seconds=3600)
    day = timezone.make_aware(datetime(2026, 3, 4, 10, 0))
    assert scheduler.run_due(now=day) == ["test.broken", "test.daily", "test.mail"]
    assert ran == ["broken", ("daily", day), "mail"]
    assert "Auftrag test.broken fehlgeschlagen" in caplog.text
    # Next turn, same day: only the tick job (the round is an hour).
    ran.clear()
    assert scheduler.run_due(now=day + timedelta(hours=2)) == ["test.mail"]
    # A new local day: the daily job again.
    assert scheduler.run_due(now=day + timedelta(days=1)) == ["test.daily", "test.mail"]


def test_run_once_runs_every_job_and_beats(settings):
    settings.PROBE_TIME = ""
    from beistand.ops.models import WorkerHeartbeat

    worker = BeistandWorker(worker_id="einmal")
    assert set(worker.run_once()) == {job.name for job in collect(WORKER)}
    assert WorkerHeartbeat.objects.filter(worker_id="einmal").exists()


def test_a_failed_daily_job_is_tried_again_at_the_next_round_not_the_next_day(monkeypatch):
    calls = []

    def flaky(run):
        calls.append(run.now)
        if len(calls) == 1:
            raise RuntimeError("Datenbank kurz weg")

    clock = [1000.0]
    monkeypatch.setattr("beistand.ops.scheduler.time.monotonic", lambda: clock[0])
    scheduler = Scheduler([Job("test.retention", DAILY, flaky)], round_seconds=60)
    day = timezone.make_aware(datetime(2026, 3, 4, 10, 0))
    assert scheduler.run_due(now=day) == ["test.retention"]  # fails
    assert scheduler.run_due(now=day) == []  # not before the next round
    clock[0] += 61
    assert scheduler.run_due(now=day) == ["test.retention"]  # retried the same day, succeeds
    clock[0] += 61
    assert scheduler.run_due(now=day) == []  # done for the day
    assert scheduler.run_due(now=day + timedelta(days=1)) == ["test.retention"]
    assert len(calls) == 3


def test_jobs_run_where_they_say(monkeypatch):
    """The worker runs no job that raises alarms; every web process runs those (server lane)."""
    assert [job.name for job in collect(SERVER)] == ["mobile.visit_timers"]
    worker = BeistandWorker()
    assert "mobile.visit_timers" not in [job.name for job in worker.scheduler.jobs]
    assert {job.name for job in worker.scheduler.jobs} | {"mobile.visit_timers"} == {
        job.name for job in collect()}
    # A job declared for an unknown place stops the scheduler instead of never running.
    fake = type("Jobs", (), {"JOBS": [Job("test.x", ROUND, print, where="nowhere")]})
    real = import_module
    monkeypatch.setattr("beistand.ops.scheduler.import_module",
                        lambda name: fake if name == "beistand.mobile.jobs" else real(name))
    with pytest.raises(ValueError, match=r"unknown place to run: test\.x"):
        collect()
