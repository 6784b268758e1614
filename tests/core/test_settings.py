"""The settings module as a fresh process sees it: each case imports beistand.settings anew in a
subprocess with its own environment, since settings are read once at import time."""

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

CONFIG_PREFIXES = ("BEISTAND_", "EMAIL_", "OIDC_", "AUTH_LDAP_", "DJANGO_")
CONFIG_NAMES = {"DATABASE_URL", "REDIS_URL", "DEFAULT_FROM_EMAIL"}

PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps(PROBE_EXPR))
"""


def _settings(tmp_path, expr, **env):
    """Evaluate ``expr`` (Python source using ``settings``) in a fresh process with ``env``."""
    # Start from a configuration-free environment, so the caller's own settings don't leak in.
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(CONFIG_PREFIXES) and k not in CONFIG_NAMES}
    clean.update({"DJANGO_SETTINGS_MODULE": "beistand.settings",
                  "BEISTAND_DATA_DIR": str(tmp_path / "var")}, **env)
    result = subprocess.run(
        [sys.executable, "-c", PROBE.replace("PROBE_EXPR", expr)],
        env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )
    return result


def _ok(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgres_url_selects_psycopg_backend(tmp_path):
    db = _ok(_settings(tmp_path, "settings.DATABASES['default']",
                       DATABASE_URL="postgres://beistand:geheim@db.example:5433/beistand"))
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "beistand", "beistand", "geheim", "db.example", 5433)
    # None of the SQLite-only options leak into the PostgreSQL configuration.
    assert "init_command" not in db.get("OPTIONS", {})


def test_psycopg_3_is_the_driver(tmp_path):
    version = _ok(_settings(
        tmp_path, "__import__('django.db.backends.postgresql.base', fromlist=['x'])"
                  ".psycopg_version()[0]",
        DATABASE_URL="postgres://beistand@db.example/beistand"))
    assert version == 3


def test_default_is_sqlite_under_data_dir(tmp_path):
    db = _ok(_settings(tmp_path, "settings.DATABASES['default']"))
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(tmp_path / "var" / "beistand.sqlite3")


def test_default_sqlite_connection_runs_in_wal_mode(tmp_path):
    mode = _ok(_settings(
        tmp_path,
        "(lambda c: (c.execute('PRAGMA journal_mode'), c.fetchone()[0])[1])"
        "(__import__('django.db', fromlist=['connection']).connection.cursor())"))
    assert mode == "wal"


def test_live_test_connection_uses_wal_on_sqlite(db):
    if connection.vendor != "sqlite":
        pytest.skip("WAL is a SQLite journal mode")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1


def test_bad_boolean_stops_startup_naming_the_variable(tmp_path):
    result = _settings(tmp_path, "settings.DEBUG", BEISTAND_DEBUG="vielleicht")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "BEISTAND_DEBUG" in result.stderr


def test_bad_integer_stops_startup_naming_the_variable(tmp_path):
    result = _settings(tmp_path, "settings.SESSION_COOKIE_AGE",
                       BEISTAND_SESSION_IDLE_MINUTES="halbe Stunde")
    assert result.returncode != 0
    assert "BEISTAND_SESSION_IDLE_MINUTES" in result.stderr


def test_email_variables_feed_the_mailers_setting(tmp_path):
    mailers = _ok(_settings(
        tmp_path, "settings.MAILERS",
        EMAIL_HOST="smtp.example", EMAIL_PORT="587", EMAIL_HOST_USER="beistand",
        EMAIL_HOST_PASSWORD="geheim", EMAIL_USE_TLS="true", EMAIL_TIMEOUT="5"))
    smtp = mailers["default"]
    assert smtp["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert smtp["OPTIONS"] == {"host": "smtp.example", "port": 587, "username": "beistand",
                               "password": "geheim", "use_tls": True, "use_ssl": False,
                               "timeout": 5}


def test_without_email_host_mail_goes_to_files(tmp_path):
    mailers = _ok(_settings(tmp_path, "settings.MAILERS"))
    assert mailers["default"]["BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert mailers["default"]["OPTIONS"]["file_path"] == str(tmp_path / "var" / "mail")


def test_redis_url_configures_cache_and_channel_layer(tmp_path):
    both = _ok(_settings(tmp_path, "[settings.CACHES, settings.CHANNEL_LAYERS]",
                         REDIS_URL="redis://cache.example:6379/2"))
    caches, layers = both
    assert caches["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert caches["default"]["LOCATION"] == "redis://cache.example:6379/2"
    assert layers["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert layers["default"]["CONFIG"]["hosts"] == ["redis://cache.example:6379/2"]


def test_secret_key_is_generated_once_and_private(tmp_path):
    first = _ok(_settings(tmp_path, "settings.SECRET_KEY"))
    second = _ok(_settings(tmp_path, "settings.SECRET_KEY"))
    assert first == second and len(first) >= 50
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
