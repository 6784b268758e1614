"""Benchmark of the audit hash chain: append throughput and latency, verification speed.

Runs against a throw-away database and never touches an installation's data:

* SQLite (default): a fresh database in a temporary directory, with the same settings (WAL,
  IMMEDIATE transactions) as production.
* PostgreSQL: ``--database-url postgres://user@host:5432/NAME`` names a database that must NOT
  exist yet; the bench creates it, migrates it and drops it at the end (audit rows cannot be
  deleted, so a reused database would only grow).

Measured:

* ``append_per_s``: ``audit.record`` calls per second, each in its own transaction (the way
  services use it), N = ``--appends`` (5000);
* ``append_p50_ms`` / ``append_p95_ms``: latency of one such transaction;
* ``verify_rows_per_s``: ``verify_chain()`` over ``--verify-rows`` rows (50,000), filled up with
  batched appends beforehand.

Progress goes to stderr; the figures are printed as JSON on the last line of stdout.

    .venv/bin/python bench/audit_chain.py
    .venv/bin/python bench/audit_chain.py --database-url postgres://postgres@127.0.0.1:5432/beistand_bench
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ThrowAwayPostgres, log, percentile


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="",
                        help="postgres://... of a database to create and drop (default: a "
                             "temporary SQLite database)")
    parser.add_argument("--appends", type=int, default=5000,
                        help="single-transaction appends to time (default 5000)")
    parser.add_argument("--verify-rows", type=int, default=50_000,
                        help="chain length to verify (default 50000)")
    parser.add_argument("--batch", type=int, default=1000,
                        help="appends per transaction when filling up for verification")
    args = parser.parse_args(argv)
    if args.appends < 1 or args.verify_rows < 1 or args.batch < 1:
        parser.error("--appends, --verify-rows and --batch must be positive")
    if args.database_url and urlsplit(args.database_url).scheme not in {
            "postgres", "postgresql", "pgsql"}:
        parser.error("--database-url must be a postgres:// URL (SQLite is the default)")
    return args


def run(args, data_dir):
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from beistand.audit import services as audit
    from beistand.audit.models import AuditEvent

    call_command("migrate", verbosity=0, interactive=False)
    log(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    start_rows = AuditEvent.objects.count()  # the migrations' own audited writes, if any

    # A typical write event: a few changed fields before/after, a purpose, an object reference.
    def append(i):
        audit.record("bench.report.update", object_type="reports.report", object_id=i,
                     object_repr=f"Meldung {i}", purpose="Qualitätsprüfung",
                     before={"status": "eingegangen", "severity": 2},
                     after={"status": "geprüft", "severity": 3, "note": "Täter bekannt"})

    log(f"appending {args.appends} events, one transaction each ...")
    latencies = []
    t0 = time.perf_counter()
    for i in range(args.appends):
        t = time.perf_counter()
        with transaction.atomic():
            append(i)
        latencies.append(time.perf_counter() - t)
    append_seconds = time.perf_counter() - t0
    latencies.sort()

    target = args.verify_rows
    have = AuditEvent.objects.count()
    log(f"filling up to {target} rows in transactions of {args.batch} ...")
    i = args.appends
    while have < target:
        with transaction.atomic():
            for _ in range(min(args.batch, target - have)):
                append(i)
                i += 1
                have += 1
    rows = AuditEvent.objects.count()

    log(f"verifying {rows} rows ...")
    t0 = time.perf_counter()
    result = audit.verify_chain()
    verify_seconds = time.perf_counter() - t0
    if not result.ok or result.checked != rows:
        raise SystemExit(f"verification failed: {result}")

    db_bytes = None
    if connection.vendor == "sqlite":
        db_file = connection.settings_dict["NAME"]
        db_bytes = sum(os.path.getsize(p) for p in (db_file, f"{db_file}-wal")
                       if os.path.exists(p))

    return {
        "database": connection.vendor,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "appends": args.appends,
        "append_seconds": round(append_seconds, 3),
        "append_per_s": round(args.appends / append_seconds, 1),
        "append_p50_ms": round(statistics.median(latencies) * 1000, 3),
        "append_p95_ms": round(percentile(latencies, 0.95) * 1000, 3),
        "append_max_ms": round(latencies[-1] * 1000, 3),
        "verify_rows": result.checked,
        "verify_seconds": round(verify_seconds, 3),
        "verify_rows_per_s": round(result.checked / verify_seconds, 1),
        "rows_before_bench": start_rows,
        "sqlite_bytes": db_bytes,
    }


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="beistand-bench-") as data_dir:
        # Settings are read at django.setup(): configure the environment first.
        os.environ["BEISTAND_DATA_DIR"] = data_dir
        os.environ["DJANGO_SETTINGS_MODULE"] = "beistand.settings"
        os.environ.pop("REDIS_URL", None)
        if args.database_url:
            os.environ["DATABASE_URL"] = args.database_url
            with ThrowAwayPostgres(args.database_url):
                figures = run(args, data_dir)
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
            figures = run(args, data_dir)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
