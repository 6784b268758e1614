"""Consistent snapshots of the database and their restore, for SQLite and PostgreSQL.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the live file page by page
inside one read transaction, while the server keeps writing. PostgreSQL: one ``REPEATABLE READ``
transaction exports its snapshot, the manifest's facts (audit head, migrations) are read in it,
and ``pg_dump --snapshot`` dumps exactly that state in the custom format.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connections

SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"


class DatabaseError(RuntimeError):
    """A snapshot or restore step of the database failed (message in German)."""


def _run(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    # The arguments are the PostgreSQL client tools found by pg_tool and fixed options; the
    # connection comes through the environment (no password on a command line).
    return subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603


@dataclass
class SnapshotInfo:
    vendor: str
    file: str
    server_version: str = ""
    migrations: dict[str, list[str]] = field(default_factory=dict)
    audit_head: dict = field(default_factory=dict)
    tools: str = ""


def settings_dict(alias: str = "default") -> dict:
    return connections[alias].settings_dict


def vendor(alias: str = "default") -> str:
    return connections[alias].vendor


def _facts(cursor) -> tuple[dict, dict]:
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, id")
    migrations: dict[str, list[str]] = {}
    for app, name in cursor.fetchall():
        migrations.setdefault(app, []).append(name)
    cursor.execute("SELECT last_seq, last_hash FROM audit_audithead WHERE id = 1")
    row = cursor.fetchone()
    head = {"seq": row[0], "hash": row[1]} if row else {}
    return migrations, head


# --- SQLite --------------------------------------------------------------------------------------

def _sqlite_path(alias: str = "default") -> Path:
    return Path(settings_dict(alias)["NAME"])


def sqlite_snapshot(dest: Path, alias: str = "default") -> SnapshotInfo:
    source_path = _sqlite_path(alias)
    if not source_path.exists():
        raise DatabaseError(f"Die Datenbankdatei {source_path} gibt es nicht.")
    src = sqlite3.connect(source_path, timeout=30)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        src.close()
    try:
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive
        migrations, head = _facts(dst.cursor())
        version = dst.execute("SELECT sqlite_version()").fetchone()[0]
    finally:
        dst.close()
    return SnapshotInfo("sqlite", SQLITE_FILE, version, migrations, head,
                        f"sqlite3 {sqlite3.sqlite_version}")


def _sqlite_tables(path: Path) -> int:
    if not path.exists() or path.stat().st_size == 0:
        return 0
    conn = sqlite3.connect(path, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                            "AND name NOT LIKE 'sqlite_%'").fetchone()[0]
    finally:
        conn.close()


def sqlite_restore(staged: Path, alias: str = "default") -> None:
    """Copy the staged file into the target with the backup API (handles the target's WAL)."""
    connections.close_all()
    target = _sqlite_path(alias)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{staged}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        src.close()
        dst.close()


# --- PostgreSQL ----------------------------------------------------------------------------------

def _pg_env(alias: str = "default") -> dict:
    s = settings_dict(alias)
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                     ("PASSWORD", "PGPASSWORD"), ("NAME", "PGDATABASE")):
        if s.get(key):
            env[var] = str(s[key])
    options = s.get("OPTIONS") or {}
    for key, var in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT"),
                     ("sslcert", "PGSSLCERT"), ("sslkey", "PGSSLKEY")):
        if options.get(key):
            env[var] = str(options[key])
    return env


def _pg_connect(alias: str = "default"):
    import psycopg

    s = settings_dict(alias)
    kwargs = {k: v for k, v in {"dbname": s.get("NAME"), "user": s.get("USER"),
                                "password": s.get("PASSWORD"), "host": s.get("HOST"),
                                "port": s.get("PORT")}.items() if v}
    options = {k: v for k, v in (s.get("OPTIONS") or {}).items()
               if k.startswith("ssl") or k in ("connect_timeout", "options")}
    try:
        return psycopg.connect(**kwargs, **options)
    except psycopg.Error as exc:
        raise DatabaseError(f"Keine Verbindung zur PostgreSQL-Datenbank {s.get('NAME')}: "
                            f"{str(exc).strip().splitlines()[0]}") from None


def pg_tool(name: str, server_major: int) -> str:
    """The client tool matching the server: Debian's versioned directory first, then PATH.
    pg_dump refuses servers newer than itself, so an older tool is reported clearly."""
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")]
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.exists():
            out = _run([str(candidate), "--version"]).stdout
            match = re.search(r"(\d+)(?:\.\d+)?", out)
            if match and int(match.group(1)) >= server_major:
                return str(candidate)
    raise DatabaseError(f"{name} für PostgreSQL {server_major} (oder neuer) nicht gefunden. "
                        f"Bitte die Client-Programme dieser Version installieren (Debian: "
                        f"postgresql-client-{server_major}).")


def _server_major(conn) -> int:
    return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000


def pg_snapshot(dest: Path, alias: str = "default") -> SnapshotInfo:
    conn = _pg_connect(alias)
    try:
        major = _server_major(conn)
        tool = pg_tool("pg_dump", major)
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        version = conn.execute("SHOW server_version").fetchone()[0]
        migrations, head = _facts(conn.cursor())
        # The exported snapshot lives as long as this transaction: dump while it is open.
        result = _run([tool, "--format=custom", f"--snapshot={snapshot}", "--no-owner",
                       "--no-privileges", f"--file={dest}"], env=_pg_env(alias))
        conn.rollback()
    finally:
        conn.close()
    if result.returncode != 0:
        raise DatabaseError(f"pg_dump ist fehlgeschlagen: {result.stderr.strip()}")
    tools = _run([tool, "--version"]).stdout.strip()
    return SnapshotInfo("postgresql", PG_FILE, version, migrations, head, tools)


def _pg_tables(alias: str = "default") -> int:
    conn = _pg_connect(alias)
    try:
        return conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = "
                            "current_schema()").fetchone()[0]
    finally:
        conn.close()


def pg_restore(staged: Path, alias: str = "default") -> None:
    connections.close_all()
    conn = _pg_connect(alias)
    try:
        major = _server_major(conn)
    finally:
        conn.close()
    tool = pg_tool("pg_restore", major)
    result = _run([tool, "--no-owner", "--no-privileges", "--clean", "--if-exists",
                   "--single-transaction", "--exit-on-error",
                   f"--dbname={settings_dict(alias)['NAME']}", str(staged)], env=_pg_env(alias))
    if result.returncode != 0:
        raise DatabaseError(f"pg_restore ist fehlgeschlagen (nichts übernommen): "
                            f"{result.stderr.strip()}")


# --- Vendor-neutral face -------------------------------------------------------------------------

def snapshot(dest_dir: Path, alias: str = "default") -> tuple[SnapshotInfo, Path]:
    kind = vendor(alias)
    if kind == "sqlite":
        info = sqlite_snapshot(dest_dir / SQLITE_FILE, alias)
    elif kind == "postgresql":
        info = pg_snapshot(dest_dir / PG_FILE, alias)
    else:
        raise DatabaseError(f"Datenbank „{kind}“ wird von beistand backup nicht unterstützt.")
    return info, dest_dir / info.file


def table_count(alias: str = "default") -> int:
    kind = vendor(alias)
    if kind == "sqlite":
        return _sqlite_tables(_sqlite_path(alias))
    return _pg_tables(alias)


def describe(alias: str = "default") -> str:
    s = settings_dict(alias)
    if vendor(alias) == "sqlite":
        return f"SQLite-Datei {s['NAME']}"
    return f"PostgreSQL-Datenbank {s['NAME']} auf {s.get('HOST') or 'localhost'}"


def restore(staged: Path, alias: str = "default") -> None:
    if vendor(alias) == "sqlite":
        sqlite_restore(staged, alias)
    else:
        pg_restore(staged, alias)
