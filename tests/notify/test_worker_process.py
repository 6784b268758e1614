"""`beistand worker` as a real process: killed with SIGKILL in the middle of a delivery, a new
worker delivers every mail (at least once); SIGTERM ends a worker cleanly."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from beistand.notify.models import OutgoingMail
from beistand.reports import services
from tests.notify import fixtures
from tests.reports import conftest as reports_fixtures
from tests.reports.conftest import report_input

smtp, catalogue, cast = fixtures.smtp, fixtures.catalogue, reports_fixtures.cast

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalogue")]

BEISTAND = Path(sys.executable).with_name("beistand")


def _database_url() -> str:
    """The test database, as DATABASE_URL for the worker process."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _start_worker(smtp, tmp_path, name):
    env = {**os.environ, "DATABASE_URL": _database_url(), "BEISTAND_DATA_DIR": str(tmp_path),
           "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp.port), "EMAIL_TIMEOUT": "10",
           "BEISTAND_ZKS_MAILBOX": "zks-postfach@teststadt.example",
           "BEISTAND_MAIL_RETRY_SECONDS": "1", "BEISTAND_LOG_LEVEL": "INFO"}
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        [str(BEISTAND), "worker", "--interval", "0.1", "--deadline-interval", "0.5",
         "--stale-after", "1", "--worker-id", name],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log = log
    return process


def _wait(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(process):
    if process.poll() is None:
        process.kill()
        process.wait(10)
    process.log.close()


def test_mails_survive_a_killed_worker(cast, smtp, tmp_path):
    reports = [services.create_report(cast["melder"], report_input(), submit=True)
               for _ in range(3)]
    mails = list(OutgoingMail.objects.all())
    assert len(mails) == 9  # per report: supervisor, ZKS mailbox, reporter

    smtp.delay = 3.0  # slow server: the first worker is killed in the middle of a delivery
    first = _start_worker(smtp, tmp_path, "first")
    try:
        _wait(lambda: OutgoingMail.objects.filter(status="sending").exists(),
              what="the first worker to pick a mail")
        time.sleep(0.3)  # now inside the SMTP conversation
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        _stop(first)
    assert OutgoingMail.objects.filter(status="sending").count() == 1
    assert OutgoingMail.objects.filter(status="sent").count() < 9

    smtp.delay = 0.0
    second = _start_worker(smtp, tmp_path, "second")
    try:
        _wait(lambda: OutgoingMail.objects.filter(status="sent").count() == 9, timeout=60,
              what="all mails sent")
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0, (tmp_path / "second.log").read_text()
    finally:
        _stop(second)

    # At least once: every recipient of every mail got it (the killed one possibly twice).
    for mail in OutgoingMail.objects.all():
        for address in mail.to:
            assert any(m.subject == mail.subject for m in smtp.to(address)), (mail, address)
    assert len(smtp.messages) in (9, 10)
    for report in reports:
        assert smtp.to("chefin@teststadt.example")
        assert any(report.reference in m.subject
                   for m in smtp.to("zks-postfach@teststadt.example"))
    # The dead worker's mail is not left "sending" for ever.
    assert not OutgoingMail.objects.filter(status="sending").exists()
    assert "beendet" in (tmp_path / "second.log").read_text()
