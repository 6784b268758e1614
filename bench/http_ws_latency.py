"""Latency of the real server path: uvicorn + Django ASGI on loopback, SQLite by default.

Measures (N requests each, sequential, one client):
  * GET /api/v1/health                      (no auth)
  * GET /api/v1/auth/me with a bearer token (token lookup + role resolution)
  * WebSocket ping -> pong round trip on /ws/v1/ping (already connected)
Prints the figures as JSON on the last line.

    .venv/bin/python bench/http_ws_latency.py [--n 500] [--database-url postgres://...]
"""

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(samples_ms):
    return {"p50_ms": round(statistics.median(samples_ms), 3),
            "p95_ms": round(_pct(samples_ms, 0.95), 3),
            "max_ms": round(max(samples_ms), 3), "n": len(samples_ms)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="beistand-bench-")
    env = dict(os.environ, BEISTAND_DATA_DIR=data_dir, BEISTAND_DEMO="1",
               DJANGO_SETTINGS_MODULE="beistand.settings")
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    beistand = [sys.executable, "-m", "beistand.cli"]
    subprocess.run([*beistand, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*beistand, "shell", "-c", (
        "from django.db import transaction\n"
        "from django.contrib.auth import get_user_model\n"
        "from beistand.organisation.models import OrgUnit, Employee\n"
        "with transaction.atomic():\n"
        "    u = OrgUnit.objects.create(code='B', name='Bench', kind='amt')\n"
        "    usr = get_user_model().objects.create_user('bench', password='bench-pass-123')\n"
        "    Employee.objects.create(user=usr, personnel_number='B1', last_name='Bench',\n"
        "                            first_name='B', unit=u)\n")], env=env, check=True)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "beistand.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], env=env, cwd=str(ROOT))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/health", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        req = urllib.request.Request(
            f"{base}/api/v1/auth/token", method="POST",
            data=json.dumps({"username": "bench", "password": "bench-pass-123"}).encode(),
            headers={"Content-Type": "application/json"})
        token = json.load(urllib.request.urlopen(req, timeout=10))["token"]

        def timed_get(path, headers=None):
            samples = []
            for _ in range(args.n):
                started = time.perf_counter()
                urllib.request.urlopen(urllib.request.Request(base + path, headers=headers or {}),
                                       timeout=10).read()
                samples.append((time.perf_counter() - started) * 1000)
            return samples

        health = timed_get("/api/v1/health")
        me = timed_get("/api/v1/auth/me", {"Authorization": f"Bearer {token}"})

        async def ws_rtt():
            import websockets

            samples = []
            async with websockets.connect(
                    f"ws://127.0.0.1:{port}/ws/v1/ping",
                    additional_headers={"Authorization": f"Bearer {token}"}) as ws:
                for i in range(args.n):
                    started = time.perf_counter()
                    await ws.send(json.dumps({"echo": i}))
                    await ws.recv()
                    samples.append((time.perf_counter() - started) * 1000)
            return samples

        ws = asyncio.run(ws_rtt())
    finally:
        server.terminate()
        server.wait(timeout=10)
    result = {
        "bench": "http_ws_latency",
        "database": "postgresql" if args.database_url else "sqlite",
        "http_health": _summary(health),
        "http_auth_me_bearer": _summary(me),
        "websocket_ping_rtt": _summary(ws),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
