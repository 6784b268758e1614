"""Benchmark of notification delivery: from a workflow step's commit to the SMTP server.

Sets up a throw-away SQLite database in a temporary directory, a real SMTP server (aiosmtpd)
on a free loopback port and a real ``beistand worker`` process; then submits ``--reports``
reports one after the other (a random pause between them, so commits fall at every phase of
the worker's polling) and records when each mail reaches the SMTP server.

Measured (seconds, wall clock, commit → SMTP ``DATA`` accepted):

* ``first_mail_p50_s`` / ``_p95_s`` / ``_max_s``: the first of a submission's mails;
* ``all_mails_p50_s`` / ``_p95_s`` / ``_max_s``: the last of its three mails (supervisor, ZKS
  mailbox, reporter), i.e. until everybody is informed.

The worker polls the queue every ``--interval`` seconds (``beistand worker``'s default: 1), so
about half an interval is waiting; the rest is the job itself (render nothing – the body is
stored –, connect, send, mark sent).

Progress goes to stderr; the figures are printed as JSON on the last line of stdout.

    .venv/bin/python bench/notify_delivery.py
    .venv/bin/python bench/notify_delivery.py --interval 0.1 --reports 50
"""

import argparse
import email
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from email import policy
from pathlib import Path

ZKS_MAILBOX = "zks@bench.example"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=50, help="reports to submit (50)")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="the worker's polling interval in seconds (default 1, as "
                             "`beistand worker`)")
    args = parser.parse_args(argv)
    if args.reports < 1 or args.interval <= 0:
        parser.error("--reports and --interval must be positive")
    return args


def percentile(sorted_values, fraction):
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


class Sink:
    """aiosmtpd handler: remembers the arrival time of every mail by subject."""

    def __init__(self):
        self.arrivals: list[tuple[float, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.arrivals.append((now, str(message["subject"]).strip()))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_people():
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from beistand.organisation.models import Employee, OrgUnit

    with transaction.atomic():
        unit = OrgUnit.objects.create(code="32/1", name="Außendienst", kind="abteilung")
        head_user = get_user_model().objects.create_user("chefin")
        head = Employee.objects.create(user=head_user, personnel_number="1", last_name="Chefin",
                                       first_name="Bea", email="chefin@bench.example",
                                       unit=unit)
        unit.head = head
        unit.save()
        user = get_user_model().objects.create_user("melder")
        Employee.objects.create(user=user, personnel_number="2", last_name="Melder",
                                first_name="Max", email="melder@bench.example", unit=unit)
    return user


def run(args, data_dir, port, sink):
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from beistand.reports import services
    from beistand.reports.services import ReportInput

    call_command("migrate", verbosity=0, interactive=False)
    user = make_people()
    worker_log = open(Path(data_dir) / "worker.log", "wb")  # noqa: SIM115
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("beistand")), "worker",
         "--interval", str(args.interval)],
        env=os.environ.copy(), stdout=worker_log, stderr=subprocess.STDOUT)
    try:
        time.sleep(2.0)  # let the worker start (Django setup) before the clock runs
        commits = {}
        log(f"submitting {args.reports} reports (worker interval {args.interval} s) ...")
        for _ in range(args.reports):
            report = services.create_report(user, ReportInput(
                occurred_at=timezone.now() - timedelta(hours=1), offences=["threat"],
                description="Bedrohung am Schalter."), submit=True)
            commits[report.reference] = time.time()  # create_report returns after commit
            time.sleep(random.uniform(0.05, args.interval))
        expected = 3 * args.reports
        deadline = time.monotonic() + 60 + 3 * args.interval * args.reports
        while time.monotonic() < deadline:
            with sink.lock:
                if len(sink.arrivals) >= expected:
                    break
            time.sleep(0.1)
        with sink.lock:
            arrivals = list(sink.arrivals)
        if len(arrivals) < expected:
            raise SystemExit(f"only {len(arrivals)} of {expected} mails arrived")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        worker_log.close()

    per_report: dict[str, list[float]] = {ref: [] for ref in commits}
    for at, subject in arrivals:
        ref = next((r for r in commits if r in subject), None)
        if ref is not None:
            per_report[ref].append(at - commits[ref])
    first = sorted(min(v) for v in per_report.values())
    last = sorted(max(v) for v in per_report.values())
    return {
        "database": "sqlite",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "reports": args.reports,
        "mails": len(arrivals),
        "worker_interval_s": args.interval,
        "first_mail_p50_s": round(statistics.median(first), 3),
        "first_mail_p95_s": round(percentile(first, 0.95), 3),
        "first_mail_max_s": round(first[-1], 3),
        "all_mails_p50_s": round(statistics.median(last), 3),
        "all_mails_p95_s": round(percentile(last, 0.95), 3),
        "all_mails_max_s": round(last[-1], 3),
    }


def main(argv=None):
    args = parse_args(argv)
    from aiosmtpd.controller import Controller

    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory(prefix="beistand-bench-") as data_dir:
            # Settings are read at django.setup() (here and in the worker): environment first.
            os.environ.update({
                "BEISTAND_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "beistand.settings",
                "DATABASE_URL": f"sqlite:///{data_dir}/bench.sqlite3",
                "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port),
                "BEISTAND_ZKS_MAILBOX": ZKS_MAILBOX, "BEISTAND_LOG_LEVEL": "WARNING"})
            os.environ.pop("REDIS_URL", None)
            figures = run(args, data_dir, port, sink)
    finally:
        controller.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
