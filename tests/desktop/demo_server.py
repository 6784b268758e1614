"""A real beistand demo server (`beistand demo --port P`) in its own process and data dir."""

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

BIN = Path(sys.executable).parent
DEVICE_TOKEN_CODE = """
from django.contrib.auth import get_user_model
from beistand.accounts.services import create_device_token
User = get_user_model()
admin, user = User.objects.get(username="admin"), User.objects.get(username="{username}")
clear, _ = create_device_token(admin, "PC {username}{suffix}", "workstation",
                               room=user.employee.room, user={bound})
print(clear)
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DemoServer:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log = data_dir / "server.log"

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("BEISTAND_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))}
        env["BEISTAND_DATA_DIR"] = str(self.data_dir)
        return env

    def start(self, timeout=180):
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([str(BIN / "beistand"), "demo", "--port", str(self.port)],
                                         env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=2):
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("demo server did not come up:\n"
                                       + self.log.read_text()[-3000:]) from None
                time.sleep(0.3)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def token(self, username):
        request = urllib.request.Request(
            f"{self.url}/api/v1/auth/token", method="POST",
            data=json.dumps({"username": username, "password": "demo"}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)["token"]

    def device_token(self, username, room_only=False):
        """A workstation device token in the person's room; ``room_only``: a person-less PC of
        that room (a reception desk paired as a device)."""
        code = DEVICE_TOKEN_CODE.format(username=username, suffix=" (Raum)" if room_only else "",
                                        bound="None" if room_only else "user")
        result = subprocess.run(
            [str(BIN / "beistand"), "shell", "-c", code],
            env=self.env(), capture_output=True, text=True, timeout=60, check=True)
        return [line for line in result.stdout.split() if line.startswith("bsd_")][-1]

    def api(self, method, path, token, body=None):
        request = urllib.request.Request(
            f"{self.url}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
