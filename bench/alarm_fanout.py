"""Silent-alarm fan-out through the real server: confirmation and delivery latency with many
idle clients connected, an Amok alarm to a whole building, server memory per idle client.

    .venv/bin/python bench/alarm_fanout.py [--clients 10000] [--receivers 50] [--alarms 100]
        [--amok-receivers 2000] [--amok-alarms 10] [--postgres [URL]] [--processes N]

Set-up: a fresh database (SQLite under a temporary directory, or a throw-away PostgreSQL
database with --postgres) with one sender, R measuring receivers (tier 1 of the alarm plan) and
C idle clients, the first AMOK of them in the sender's building. Server: one uvicorn process
(the embedded default), or --processes N (default 2 with --postgres) behind PostgreSQL
LISTEN/NOTIFY, clients spread over them. Client connections run in worker processes and follow
the protocol (resume, receipts, pong).

Measured per alarm: confirm = POST /api/v1/alarms until its 201 (stored); deliver = POST until
each receiver has the `alarm` event. `lost` counts receivers that never got an alarm meant for
them. Memory: server RSS after connecting the idle clients minus before, per client. Prints
the figures as JSON on the last line.
"""

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import drop_database, pct, stop_servers  # noqa: E402

WORKER_FLAG = "--client-worker"


def _raise_nofile():
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- client worker process ------------------------------------------------------------------------

async def _client(url, token, arrivals, ready, stop, stats):
    import websockets

    for attempt in range(20):
        try:
            ws = await websockets.connect(f"{url}/ws/v1/alarms",
                                          additional_headers={"Authorization": f"Bearer {token}"},
                                          open_timeout=60, ping_interval=None,
                                          max_queue=64)
            break
        except Exception:
            await asyncio.sleep(0.2 * (attempt + 1))
    else:
        stats["failed"] += 1
        ready()
        return
    last = 0
    try:
        hello = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "resume", "last_event_id": hello["last_event_id"]}))
        last = hello["last_event_id"]
        ready()
        while not stop.is_set():
            try:
                text = await asyncio.wait_for(ws.recv(), 1.0)
            except TimeoutError:
                continue
            now = time.monotonic()
            frame = json.loads(text)
            kind = frame.get("type")
            if kind == "ping":
                await ws.send('{"type": "pong"}')
                continue
            seq = frame.get("event_id")
            if seq is None or seq <= last:
                continue
            last = seq
            await ws.send(json.dumps({"type": "receipt", "event_id": seq}))
            if kind == "alarm":
                arrivals.setdefault(frame["alarm_id"], []).append(now)
    except Exception:
        stats["dropped"] += 1
    finally:
        await ws.close()


async def _worker_main(spec):
    arrivals: dict[int, list[float]] = {}
    stop = asyncio.Event()
    stats = {"failed": 0, "dropped": 0, "ready": 0}
    total = sum(len(tokens) for _, tokens in spec)

    def ready():
        stats["ready"] += 1

    tasks = []
    gate = asyncio.Semaphore(100)  # connect in bounded bursts

    async def start(url, token):
        async with gate:
            tasks.append(asyncio.create_task(_client(url, token, arrivals, ready, stop, stats)))
            while len(tasks) - stats["ready"] > 100:
                await asyncio.sleep(0.01)

    for url, tokens in spec:
        for token in tokens:
            await start(url, token)
    while stats["ready"] < total:
        await asyncio.sleep(0.05)
    print(json.dumps({"ready": total, "failed": stats["failed"]}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({"arrivals": arrivals, "dropped": stats["dropped"]}), flush=True)


# --- set-up -----------------------------------------------------------------------------------

SETUP = r"""
import json, os
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from beistand.accounts.models import ApiToken
from beistand.accounts.tokens import USER_TOKEN_PREFIX, new_secret
from beistand.alarms.models import AlarmPlan, AlarmTier, Inbox
from beistand.organisation.models import Body, Building, Employee, Floor, OrgUnit, Room, Site

spec = json.loads(os.environ["BENCH_SPEC"])
User = get_user_model()
with transaction.atomic():
    Body.objects.create(name="Bench")
    unit = OrgUnit.objects.create(code="B", name="Bench", kind="amt")
    site = Site.objects.create(name="S", street="x", postal_code="1", city="x",
                               latitude=51.0, longitude=7.0)
    rooms = {}
    for b in ("B1", "B2"):
        building = Building.objects.create(site=site, name=b)
        for level in range(4):
            floor = Floor.objects.create(building=building, level=level)
            rooms[(b, level)] = Room.objects.create(floor=floor, number=f"{level}.01", x=1.0,
                                                    y=1.0)
    # Users: sender, receivers, idle (the first "amok" of them in building B1).
    names = (["sender"] + [f"r{i}" for i in range(spec["receivers"])]
             + [f"c{i}" for i in range(spec["clients"])])
    User.objects.bulk_create([User(username=n, password="!") for n in names], batch_size=2000)
    users = {u.username: u for u in User.objects.filter(username__in=names)}
    emps = []
    for i, name in enumerate(names):
        if name == "sender" or name.startswith("r"):
            room = rooms[("B1", 1)]
        elif int(name[1:]) < spec["amok"]:
            room = rooms[("B1", 2 + int(name[1:]) % 2)]
        else:
            room = rooms[("B2", int(name[1:]) % 4)]
        emps.append(Employee(user=users[name], personnel_number=f"P{i}", last_name=name,
                             first_name="Bench", unit=unit, room=room,
                             service_phone="+49 1234 555-0000"))
    Employee.objects.bulk_create(emps, batch_size=2000)
    Inbox.objects.bulk_create([Inbox(user=u) for u in users.values()], batch_size=2000)
    tokens, rows = {}, []
    for name, user in users.items():
        clear, prefix, digest = new_secret(USER_TOKEN_PREFIX)
        tokens[name] = clear
        rows.append(ApiToken(user=user, prefix=prefix, token_hash=digest,
                             expires_at=timezone.now() + timedelta(days=1)))
    ApiToken.objects.bulk_create(rows, batch_size=2000)
    plan = AlarmPlan.objects.get(scope="default")
    plan.tiers.all().delete()
    tier = AlarmTier.objects.create(plan=plan, order=1, kind="people", timeout_s=600,
                                    sms_when_offline=False)
    tier.people.set(Employee.objects.filter(last_name__startswith="r"))
print(json.dumps(tokens))
"""


def _server(env, port, ws):
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "beistand.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--lifespan", "on", "--log-level", "warning", "--ws", ws,
         "--ws-per-message-deflate", "false", "--ws-ping-interval", "0"], env=env)


def _wait_up(url):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server {url} did not start")


def _post(url, token, body):
    request = urllib.request.Request(
        f"{url}/api/v1/alarms", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 201, resp.status
        return json.loads(resp.read())["id"]


def _spawn_workers(n, spec_per_worker):
    workers = []
    for spec in spec_per_worker[:n]:
        proc = subprocess.Popen([sys.executable, __file__, WORKER_FLAG], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, bufsize=1)
        proc.stdin.write(json.dumps(spec) + "\n")
        proc.stdin.flush()
        workers.append(proc)
    for proc in workers:
        line = json.loads(proc.stdout.readline())
        if line.get("failed"):
            print(f"warning: {line['failed']} clients failed to connect", file=sys.stderr)
    return workers


def _collect(workers):
    merged: dict[int, list[float]] = {}
    dropped = 0
    for proc in workers:
        proc.stdin.write("stop\n")
        proc.stdin.flush()
    for proc in workers:
        data = json.loads(proc.stdout.readline())
        dropped += data["dropped"]
        for alarm_id, times in data["arrivals"].items():
            merged.setdefault(int(alarm_id), []).extend(times)
        proc.wait(timeout=60)
    return merged, dropped


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--receivers", type=int, default=50)
    parser.add_argument("--alarms", type=int, default=100)
    parser.add_argument("--amok-receivers", type=int, default=2000)
    parser.add_argument("--amok-alarms", type=int, default=10)
    parser.add_argument("--postgres", nargs="?", const="postgres://postgres@127.0.0.1:5432",
                        default="", help="server URL; a throw-away database is created")
    parser.add_argument("--processes", type=int, default=0)
    parser.add_argument("--client-workers", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=5,
                        help="alarms raised (and delivered) before measuring")
    parser.add_argument("--ws", default="websockets-sansio",
                        help="uvicorn's WebSocket implementation (as in production)")
    args = parser.parse_args()
    args.amok_receivers = min(args.amok_receivers, args.clients)
    processes = args.processes or (2 if args.postgres else 1)
    _raise_nofile()

    data_dir = tempfile.mkdtemp(prefix="beistand-bench-alarm-")
    env = dict(os.environ, BEISTAND_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="beistand.settings",
               BEISTAND_LOG_LEVEL="WARNING",
               # One sender raises every measured alarm: the per-person flood limit is off.
               BEISTAND_ALARM_USER_MAX_PER_MINUTE="0")
    env.pop("REDIS_URL", None)
    db_name = None
    if args.postgres:
        import psycopg

        db_name = f"beistand_bench_alarm_{os.getpid()}"
        with psycopg.connect(args.postgres.rstrip("/") + "/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
        env["DATABASE_URL"] = f"{args.postgres.rstrip('/')}/{db_name}"
    beistand = [sys.executable, "-m", "beistand.cli"]
    servers = []
    try:
        subprocess.run([*beistand, "migrate", "-v0"], env=env, check=True)
        spec = {"clients": args.clients, "receivers": args.receivers,
                "amok": args.amok_receivers}
        out = subprocess.run([*beistand, "shell", "-c", SETUP],
                             env={**env, "BENCH_SPEC": json.dumps(spec)},
                             check=True, capture_output=True, text=True).stdout
        tokens = json.loads(out.strip().splitlines()[-1])

        import socket as _socket

        ports = []
        for _ in range(processes):
            with _socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                ports.append(sock.getsockname()[1])
        servers = [_server(env, port, args.ws) for port in ports]
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        ws_urls = [f"ws://127.0.0.1:{p}" for p in ports]
        for url in urls:
            _wait_up(url)
        time.sleep(1.0)
        rss_before = [_rss_kb(s.pid) for s in servers]

        # Idle clients (the Amok receivers among them) spread over servers and workers.
        idle = [tokens[f"c{i}"] for i in range(args.clients)]
        per_worker = [[] for _ in range(args.client_workers)]
        for i, token in enumerate(idle):
            per_worker[i % args.client_workers].append((ws_urls[i % processes], token))
        worker_specs = []
        for items in per_worker:
            grouped: dict[str, list[str]] = {}
            for url, token in items:
                grouped.setdefault(url, []).append(token)
            worker_specs.append(list(grouped.items()))
        t_connect = time.monotonic()
        idle_workers = _spawn_workers(args.client_workers, worker_specs)
        connect_s = time.monotonic() - t_connect
        time.sleep(2.0)  # presence written, garbage settled
        rss_after = [_rss_kb(s.pid) for s in servers]
        per_process_clients = [sum(1 for i in range(args.clients) if i % processes == k)
                               for k in range(processes)]
        rss_per_client = max((after - before) / max(1, n) for before, after, n in
                             zip(rss_before, rss_after, per_process_clients, strict=True))

        # Measuring receivers in a worker of their own (tier 1 of every "beistand" alarm).
        receiver_spec = {}
        for i in range(args.receivers):
            receiver_spec.setdefault(ws_urls[i % processes], []).append(tokens[f"r{i}"])
        receivers = _spawn_workers(1, [list(receiver_spec.items())])
        time.sleep(1.5)

        sender = tokens["sender"]
        for n in range(args.warmup):  # first calls compile queries and fill caches
            _post(urls[n % processes], sender, {"template": "beistand", "client_id": f"w-{n}"})
            time.sleep(0.05)
        time.sleep(1.0)
        confirm, starts = [], {}
        for n in range(args.alarms):
            url = urls[n % processes]
            t0 = time.monotonic()
            alarm_id = _post(url, sender, {"template": "beistand", "client_id": f"b-{n}"})
            confirm.append((time.monotonic() - t0) * 1000)
            starts[alarm_id] = t0
            time.sleep(0.05)
        amok_starts = {}
        for n in range(args.amok_alarms):
            t0 = time.monotonic()
            alarm_id = _post(urls[n % processes], sender,
                             {"template": "amok", "client_id": f"amok-{n}"})
            amok_starts[alarm_id] = t0
            time.sleep(0.5)
        time.sleep(3.0)
        arrivals, dropped = _collect(receivers)
        idle_arrivals, idle_dropped = _collect(idle_workers)
        for alarm_id, times in idle_arrivals.items():
            arrivals.setdefault(alarm_id, []).extend(times)

        deliver, lost = [], 0
        for alarm_id, t0 in starts.items():
            got = arrivals.get(alarm_id, [])
            lost += max(0, args.receivers - len(got))
            deliver.extend((t - t0) * 1000 for t in got)
        amok, amok_lost = [], 0
        expected_amok = args.receivers + args.amok_receivers
        for alarm_id, t0 in amok_starts.items():
            got = arrivals.get(alarm_id, [])
            amok_lost += max(0, expected_amok - len(got))
            amok.extend((t - t0) * 1000 for t in got)
        result = {
            "database": "postgresql" if args.postgres else "sqlite",
            "processes": processes, "clients": args.clients, "receivers": args.receivers,
            "alarms": args.alarms, "connect_s": round(connect_s, 1),
            "confirm_p50_ms": round(statistics.median(confirm), 2),
            "confirm_p99_ms": round(pct(confirm, 0.99), 2),
            "confirm_max_ms": round(max(confirm), 2),
            "deliver_p50_ms": round(statistics.median(deliver), 2) if deliver else None,
            "deliver_p99_ms": round(pct(deliver, 0.99), 2) if deliver else None,
            "deliver_max_ms": round(max(deliver), 2) if deliver else None,
            "amok_receivers": expected_amok, "amok_alarms": args.amok_alarms,
            "amok_deliver_p50_ms": round(statistics.median(amok), 1) if amok else None,
            "amok_deliver_p99_ms": round(pct(amok, 0.99), 1) if amok else None,
            "rss_kb_per_client": round(rss_per_client, 1),
            "dropped_connections": dropped + idle_dropped,
            "lost": lost + amok_lost,
        }
        print(json.dumps(result))
    finally:
        stop_servers(servers)
        if db_name:
            drop_database(args.postgres, db_name)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == WORKER_FLAG:
        _raise_nofile()
        asyncio.run(_worker_main(json.loads(sys.stdin.readline())))
    else:
        main()
