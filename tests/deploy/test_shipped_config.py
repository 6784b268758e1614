"""The shipped configuration as shipped: deploy/beistand.env.example starts, answers the health
checks on the loopback ports, and a placeholder or short secret key stops start-up."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "beistand.env.example"
CONFIG_PREFIXES = ("BEISTAND_", "EMAIL_", "OIDC_", "AUTH_LDAP_", "DJANGO_")
CONFIG_NAMES = {"DATABASE_URL", "REDIS_URL", "DEFAULT_FROM_EMAIL"}

SCRIPT = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
from django.core.management import call_command
call_command("migrate", verbosity=0)
client = Client()
codes = {host: client.get("/health/live", HTTP_HOST=host).status_code
         for host in ("127.0.0.1:8001", "127.0.0.1:8002", "localhost:8001", "[::1]:8001",
                      "beistand.example.de", "evil.example")}
print(json.dumps({"codes": codes, "hosts": settings.ALLOWED_HOSTS}))
"""


def template_env() -> dict:
    env = {}
    for line in TEMPLATE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    return env


def run(tmp_path, overrides: dict, script: str = SCRIPT):
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(CONFIG_PREFIXES) and k not in CONFIG_NAMES}
    clean.update(template_env())
    clean.update({"DJANGO_SETTINGS_MODULE": "beistand.settings",
                  "BEISTAND_DATA_DIR": str(tmp_path / "data"),
                  "BEISTAND_NODE_MODULES": str(ROOT / "node_modules"),
                  # The template's PostgreSQL role does not exist here; the rest is as shipped.
                  "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    clean.update(overrides)
    return subprocess.run([sys.executable, "-c", script], env=clean, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)


def test_template_answers_health_on_loopback_ports(tmp_path):
    result = run(tmp_path, {})
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    codes = answer["codes"]
    assert codes["127.0.0.1:8001"] == codes["127.0.0.1:8002"] == 200
    assert codes["localhost:8001"] == codes["[::1]:8001"] == 200
    assert codes["beistand.example.de"] == 200
    # Other names stay refused.
    assert codes["evil.example"] == 400


def test_template_passes_deploy_check(tmp_path):
    script = ("import django, sys; django.setup(); from django.core.management import "
              "call_command; call_command('check', '--deploy', '--fail-level', 'ERROR')")
    result = run(tmp_path, {}, script)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("key", [
    "change-me", "CHANGE-ME-please-with-a-long-enough-tail-1234567890",
    "changeme" * 8, "django-insecure-abcdefghijklmnopqrstuvwxyz0123456789",
    "your-secret-key-goes-here-0123456789abcdef", "a" * 64,
])
def test_placeholder_secret_key_stops_start_up(tmp_path, key):
    result = run(tmp_path, {"BEISTAND_SECRET_KEY": key})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "BEISTAND_SECRET_KEY" in result.stderr


def test_short_secret_key_stops_start_up(tmp_path):
    result = run(tmp_path, {"BEISTAND_SECRET_KEY": "Kx7-q2Lm9vB3nR8t"})
    assert result.returncode != 0
    assert "at least 32 characters" in result.stderr


def test_random_secret_key_is_accepted(tmp_path):
    import secrets

    result = run(tmp_path, {"BEISTAND_SECRET_KEY": secrets.token_urlsafe(50)})
    assert result.returncode == 0, result.stderr


def test_processes_starting_together_share_one_generated_key(tmp_path):
    script = ("import django; django.setup(); from django.conf import settings; "
              "print(settings.SECRET_KEY)")
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(CONFIG_PREFIXES) and k not in CONFIG_NAMES}
    clean.update({"DJANGO_SETTINGS_MODULE": "beistand.settings",
                  "BEISTAND_DATA_DIR": str(tmp_path / "data")})
    procs = [subprocess.Popen([sys.executable, "-c", script], env=clean, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in outputs]
    keys = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert len(keys) == 1
    assert sorted(p.name for p in (tmp_path / "data").iterdir() if "secret" in p.name) == [
        "secret_key"]
