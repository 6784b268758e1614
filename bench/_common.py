"""What the benchmarks share: a throw-away PostgreSQL database, a scratch environment for the
in-process benches, percentiles, stopping server processes, logging to stderr (the last line of
stdout is each bench's JSON)."""

import json
import os
import subprocess
import sys
import tempfile
from urllib.parse import urlsplit, urlunsplit


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(sorted_values, fraction):
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def pct(values, q):
    """The ``q`` percentile of unsorted ``values`` (None for none)."""
    return percentile(sorted(values), q) if values else None


class ThrowAwayPostgres:
    """Creates the named database (refusing if it exists) and drops it afterwards."""

    def __init__(self, url: str):
        import psycopg

        self.psycopg = psycopg
        parts = urlsplit(url)
        self.name = parts.path.lstrip("/")
        if not self.name:
            raise SystemExit("--database-url must name the database to create, "
                             "e.g. postgres://postgres@127.0.0.1:5432/beistand_bench")
        self.server = urlunsplit(parts._replace(path="/postgres"))

    def _connect(self):
        return self.psycopg.connect(self.server, autocommit=True)

    def __enter__(self):
        from psycopg import sql

        with self._connect() as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            [self.name]).fetchone():
                raise SystemExit(f"database {self.name!r} exists; the bench only uses a database "
                                 "it creates itself (pick another name or drop it)")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        return self

    def __exit__(self, *exc):
        from django.db import connections
        from psycopg import sql

        connections.close_all()
        with self._connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(self.name)))


def add_database_url(parser) -> None:
    parser.add_argument("--database-url", default="",
                        help="postgres://... of a database to create and drop (default: a "
                             "temporary SQLite database)")


def check_database_url(parser, args) -> None:
    if args.database_url and urlsplit(args.database_url).scheme not in {
            "postgres", "postgresql", "pgsql"}:
        parser.error("--database-url must be a postgres:// URL (SQLite is the default)")


def run_lookups_in_scratch(args, run) -> None:
    """Run ``run(args)`` in a temporary data directory, on a throw-away PostgreSQL database or
    a temporary SQLite one, with the querier's limits off (thousands of look-ups by one
    querier), and print its figures as the last line."""
    with tempfile.TemporaryDirectory(prefix="beistand-bench-") as data_dir:
        os.environ["BEISTAND_DATA_DIR"] = data_dir
        os.environ["DJANGO_SETTINGS_MODULE"] = "beistand.settings"
        os.environ.setdefault("BEISTAND_LOOKUP_LIMIT_PER_MINUTE", "0")
        os.environ.setdefault("BEISTAND_LOOKUP_LIMIT_PER_DAY", "0")
        os.environ.pop("REDIS_URL", None)
        if getattr(args, "database_url", ""):
            os.environ["DATABASE_URL"] = args.database_url
            with ThrowAwayPostgres(args.database_url):
                figures = run(args)
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
            figures = run(args)
    print(json.dumps(figures, ensure_ascii=False))


def stop_servers(servers) -> None:
    for server in servers:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url.rstrip("/") + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
