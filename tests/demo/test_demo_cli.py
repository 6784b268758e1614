"""The real console script in a separate process: `beistand demo` serves, `import-org` exit codes.

Each process gets its own empty data directory (its own SQLite database), so these tests do not
touch the test database and run the same under the SQLite and the PostgreSQL CI job.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BEISTAND = Path(sys.executable).parent / "beistand"


def _env(data_dir):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BEISTAND_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))}
    env["BEISTAND_DATA_DIR"] = str(data_dir)
    return env


def _run(data_dir, *args, timeout=120):
    return subprocess.run([str(BEISTAND), *args], env=_env(data_dir), capture_output=True,
                          text=True, timeout=timeout, check=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo-var")
    result = _run(data_dir, "demo", "--no-serve")
    assert result.returncode == 0, result.stderr
    assert "Stadt Musterstadt geladen" in result.stdout
    return data_dir


def test_demo_no_serve_is_idempotent_and_chain_verifies(demo_dir):
    again = _run(demo_dir, "demo", "--no-serve")
    assert again.returncode == 0, again.stderr
    assert "(0 neu, 0 geändert," in again.stdout
    verify = _run(demo_dir, "audit", "verify")
    assert verify.returncode == 0, verify.stderr
    assert "Audit-Kette gültig" in verify.stdout


def test_demo_serves_health_and_login(demo_dir):
    port = _free_port()
    proc = subprocess.Popen([str(BEISTAND), "demo", "--port", str(port)], env=_env(demo_dir),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2) as response:
                    assert json.load(response) == {"status": "ok"}
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "demo server did not come up"
                time.sleep(0.3)
        request = urllib.request.Request(
            f"{base}/api/v1/auth/token", method="POST",
            data=json.dumps({"username": "zks", "password": "demo"}).encode(),
            headers={"Content-Type": "application/json"})
        # zks is a privileged role: without demo mode this would need a TOTP code.
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
            assert json.load(response)["token"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert f"Demo läuft auf {base}/" in output
    # The demo's own SMS gateway peer ran on loopback (see tests/demo/test_demo_sms_gateway.py).
    assert "Demo-SMS-Gateway (sendet nichts, zeigt die SMS): http://127.0.0.1:" in output
    assert proc.returncode == 0, output


def test_import_org_exit_codes(demo_dir, tmp_path):
    good = tmp_path / "gut.csv"
    good.write_text("personnel_number;last_name;first_name;unit_code\n"
                    "900001;Neu;Nora;32/3\n", encoding="utf-8")
    result = _run(demo_dir, "import-org", str(good))
    assert result.returncode == 0, result.stderr
    assert "Beschäftigte: 1 neu" in result.stdout

    bad = tmp_path / "schlecht.csv"
    bad.write_bytes("Personalnummer;Name;Vorname;OE\n900002;Böse;Bea;99\n".encode("cp1252"))
    result = _run(demo_dir, "import-org", "--dry-run", str(bad))
    assert result.returncode == 1
    assert "schlecht.csv, Zeile 2 (Personalnummer „900002“): Organisationseinheit „99“ ist " \
           "unbekannt" in result.stdout
    assert "1 Zeile(n) abgelehnt" in result.stderr

    result = _run(demo_dir, "import-org", str(tmp_path / "fehlt.csv"))
    assert result.returncode == 2
    assert "nicht lesbar" in result.stderr
