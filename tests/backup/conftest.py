"""Restore targets for the drill: a fresh SQLite file, or a throw-away PostgreSQL database on
the server the test database lives on; plus the environment an operator would set."""

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from tests.notify.fixtures import catalogue  # noqa: F401  (fixture)

KEY = "drill-schluessel-fuer-die-tests-0123456789"
BEISTAND = str(Path(sys.executable).parent / "beistand")


class Target:
    """Where a restore goes, and how to look into it afterwards with plain SQL."""

    def __init__(self, tmp: Path, journal: Path, url: str | None = None):
        self.data_dir = tmp / "ziel"
        self.url = url
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "REDIS_URL", "BEISTAND_SECRET_KEY")}
        self.env.update(BEISTAND_DATA_DIR=str(self.data_dir), BEISTAND_BACKUP_KEY=KEY,
                        BEISTAND_DELETION_JOURNAL=str(journal))
        if url:
            self.env["DATABASE_URL"] = url

    @property
    def uploads(self) -> Path:
        return self.data_dir / "uploads"

    def run(self, *args, key=KEY, check=True) -> subprocess.CompletedProcess:
        env = dict(self.env, BEISTAND_BACKUP_KEY=key)
        result = subprocess.run([BEISTAND, *args], env=env, capture_output=True, text=True,
                                timeout=120, check=False)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def rows(self, sql: str) -> list[tuple]:
        if self.url is None:
            path = self.data_dir / "beistand.sqlite3"
            if not path.exists():
                return []
            conn = sqlite3.connect(path)
            try:
                return [tuple(r) for r in conn.execute(sql).fetchall()]
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.url) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]

    def tables(self) -> int:
        if self.url is None:
            return self.rows("SELECT count(*) FROM sqlite_master WHERE type = 'table'")[0][0] \
                if (self.data_dir / "beistand.sqlite3").exists() else 0
        return self.rows("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0][0]


@pytest.fixture
def journal(settings, tmp_path):
    path = tmp_path / "journal" / "deletions.log"
    settings.DELETION_JOURNAL = path
    return path


@pytest.fixture
def backup_settings(settings, tmp_path, journal):
    settings.BACKUP_KEY = KEY
    settings.MEDIA_ROOT = tmp_path / "quelle-uploads"
    return settings


@pytest.fixture
def target(tmp_path, journal):
    if connection.vendor == "sqlite":
        yield Target(tmp_path, journal)
        return
    import psycopg

    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    server = f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}"
    name = f"beistand_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Target(tmp_path, journal, url=f"{server}/{name}")
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
