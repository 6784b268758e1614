"""A beistand server as a separate OS process (uvicorn), on the test database: for crash tests
(SIGKILL) and for several processes behind one database."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.db import connection

from tests.alarms.conftest import free_port


def database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db.get('USER') or 'postgres'}{password}@{host}:{port}/{db['NAME']}"


class ServerProcess:
    def __init__(self, port=None, **env):
        self.port = port or free_port()
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "beistand.settings",
                    "DATABASE_URL": database_url(), "BEISTAND_DATA_DIR": str(settings.DATA_DIR),
                    "BEISTAND_LOG_LEVEL": "WARNING", **env}
        self.env.pop("REDIS_URL", None) if "REDIS_URL" not in env else None
        self.proc = None
        # Outside the data directory, which is var/ in the checkout when pytest runs without
        # BEISTAND_DATA_DIR; a failed start shows the log's end in its error.
        self.log = Path(tempfile.mkdtemp(prefix="beistand-server-")) / f"server-{self.port}.log"

    def start(self, timeout=30):
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "beistand.asgi:application", "--host",
             "127.0.0.1", "--port", str(self.port), "--lifespan", "on", "--log-level",
             "warning", "--ws-ping-interval", "0"],
            env=self.env, stdout=handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.http}/api/v1/health", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def kill(self):
        """SIGKILL: no shutdown code runs, as in a crash or power loss."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def http(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self):
        return f"ws://127.0.0.1:{self.port}"
