"""Silent alarm while the slowest work of the system runs: confirm and deliver latency of alarms
with and without background load.

    .venv/bin/python bench/alarm_under_load.py [--alarms 100] [--receivers 20]
        [--import-rows 100000] [--interval 0.1] [--postgres [URL]]

Set-up: a fresh database (SQLite under a temporary directory, or a throw-away PostgreSQL
database with --postgres) with the demo's data (``beistand demo --no-serve``: organisation,
accounts, a year of incidents for the statistics), then one sender and R receivers in one room
(tier 1 of the alarm plan, ``people``), a register person with the maximal aliases (50 x 100
characters) and three addresses, 2,000 register persons whose deletion date has passed, and
look-up log rows that showed them. One uvicorn server process as in production (lifespan on,
``websockets-sansio``, no compression). Receivers are WebSocket clients in this process that
follow the protocol (resume, receipts).

Phase "idle": ``--alarms`` alarms, ``--interval`` apart, nothing else running.
Phase "load": at the same time, in other processes:
  * ``beistand import-register`` of a generated legacy register of ``--import-rows`` rows,
  * ``beistand backup`` (encrypted snapshot of the database and the files), then again,
  * ``beistand retention run`` (purges the 2,000 due persons, redacts their look-ups),
  * an HTTP load process with three threads looping on the same server: the Art. 15 letter
    (PDF) of the person with maximal aliases, the annual report (PDF) and the statistics
    dashboard's queries (incidents by month and unit, key figures, lead times),
and alarms one after the other, ``--interval`` after the previous one's answer, for as long as
any of the jobs runs (at least ``--alarms``).

Documents and charts are laid out in the server's render worker process (``core.offload``,
``BEISTAND_RENDER_PROCESSES``, default 1, at ``nice +BEISTAND_RENDER_NICE``); run with
``BEISTAND_RENDER_PROCESSES=0`` to lay them out in the server process as before, for a
comparison. The JSON names both and the machine's load average at the start and end of each
phase (on a shared machine the figures depend on it).

Confirm = POST /api/v1/alarms until its 201 (the alarm is committed); deliver = the POST until a
receiver has the ``alarm`` event (every receiver counts). ``lost``: receivers that never got an
alarm meant for them. ``load_5xx``: background requests answered with a 5xx. Prints the figures
as JSON on the last line.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import drop_database, pct, stop_servers  # noqa: E402

LOAD_FLAG = "--http-load"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- HTTP load process ----------------------------------------------------------------------

def _http_load_main(spec):
    """Loop on the slow requests until "stop" on stdin; print the status counts as JSON."""
    base = spec["url"]
    counts: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()
    year = date.today().year

    def get(path, token):
        request = urllib.request.Request(f"{base}{path}",
                                         headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=120) as resp:
                resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = 0
        with lock:
            key = f"{path.split('?')[0].rsplit('/', 1)[-1][:24]}:{status}"
            counts[key] = counts.get(key, 0) + 1

    def loop(paths, token):
        while not stop.is_set():
            for path in paths:
                get(path, token)

    threads = [
        threading.Thread(target=loop, args=(
            [f"/api/v1/register/persons/{spec['person']}/access-report.pdf"], spec["zks"])),
        threading.Thread(target=loop, args=(
            [f"/api/v1/stats/annual-report/{year}.pdf"], spec["stats"])),
        threading.Thread(target=loop, args=(
            [f"/api/v1/stats/incidents?group_by=month,level&from={year - 1}-01-01",
             f"/api/v1/stats/incidents?group_by=unit,offence&from={year - 1}-01-01",
             f"/api/v1/stats/key-figures?from={year - 1}-01-01",
             f"/api/v1/stats/lead-times?from={year - 1}-01-01"], spec["stats"])),
    ]
    for thread in threads:
        thread.start()
    print(json.dumps({"started": True}), flush=True)
    sys.stdin.readline()
    stop.set()
    for thread in threads:
        thread.join()
    print(json.dumps(counts), flush=True)


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
from beistand.organisation.models import Building, Employee, Floor, OrgUnit, Room, Site
from beistand.register.models import Lookup, RegisterAddress, RegisterPerson

spec = json.loads(os.environ["BENCH_SPEC"])
User = get_user_model()
today = timezone.localdate()
with transaction.atomic():
    unit = OrgUnit.objects.filter(parent__isnull=False).order_by("pk").first()
    site = Site.objects.create(name="Bench", street="x", postal_code="1", city="x",
                               latitude=51.0, longitude=7.0)
    floor = Floor.objects.create(building=Building.objects.create(site=site, name="B"), level=1)
    room = Room.objects.create(floor=floor, number="1.01", x=1.0, y=1.0)
    names = ["bsender"] + [f"br{i}" for i in range(spec["receivers"])]
    users = {}
    for i, name in enumerate(names):
        user = User.objects.create(username=name, password="!")
        Employee.objects.create(user=user, personnel_number=f"BENCH{i}", last_name=name,
                                first_name="Bench", unit=unit, room=room)
        Inbox.objects.get_or_create(user=user)
        users[name] = user
    users["zks"] = User.objects.get(username="zks")
    users["statistik"] = User.objects.get(username="statistik")
    tokens = {}
    for name, user in users.items():
        clear, prefix, digest = new_secret(USER_TOKEN_PREFIX)
        tokens[name] = clear
        ApiToken.objects.create(user=user, prefix=prefix, token_hash=digest, otp_verified=True,
                                expires_at=timezone.now() + timedelta(days=1))
    plan = AlarmPlan.objects.get(scope="default")
    plan.tiers.all().delete()
    tier = AlarmTier.objects.create(plan=plan, order=1, kind="people", timeout_s=3600,
                                    sms_when_offline=False)
    tier.people.set(Employee.objects.filter(last_name__startswith="br"))
    # The Art. 15 letter's person: every text at its bound.
    person = RegisterPerson.objects.create(
        last_name="M" * 100, first_names="V" * 150, birth_name="G" * 100,
        aliases=[f"{i:02d}" + "Aliasname" * 10 + "x" * 8 for i in range(50)],
        date_of_birth=today - timedelta(days=40 * 365), hazard_level=2,
        last_incident_on=today - timedelta(days=30),
        review_on=today + timedelta(days=700), delete_on=today + timedelta(days=1500))
    for n in range(3):
        RegisterAddress.objects.create(person=person, street="S" * 150, house_number="1" * 20,
                                       postal_code="5" * 10, city="O" * 100)
    # Persons due for deletion and look-ups that showed them (the retention run's work).
    due = RegisterPerson.objects.bulk_create([
        RegisterPerson(last_name=f"Faellig{i}", first_names="Bench", hazard_level=1,
                       last_incident_on=today - timedelta(days=3000),
                       delete_on=today - timedelta(days=1))
        for i in range(spec["due"])], batch_size=1000)
    zks = users["zks"]
    Lookup.objects.bulk_create([
        Lookup(kind="person", querier=zks, querier_label="ZKS", unit_code="I/3",
               purpose=f"Bench Faellig{i}", query={"last_name": f"Faellig{i}"},
               shown=[due[i % len(due)].pk, person.pk] if i % 3 == 0 else [due[i % len(due)].pk])
        for i in range(spec["lookups"])], batch_size=2000)
print(json.dumps({"tokens": tokens, "person": person.pk}))
"""


# --- alarms -----------------------------------------------------------------------------------

class Receivers:
    """R WebSocket clients following the protocol; arrival time per alarm."""

    def __init__(self, ws_url, tokens):
        self.ws_url = ws_url
        self.tokens = tokens
        self.arrivals: dict[int, list[float]] = {}
        self.tasks = []
        self.ready = 0
        self.stop = asyncio.Event()

    async def _client(self, token):
        import websockets

        ws = await websockets.connect(f"{self.ws_url}/ws/v1/alarms",
                                      additional_headers={"Authorization": f"Bearer {token}"},
                                      open_timeout=30, ping_interval=None)
        try:
            hello = json.loads(await ws.recv())
            last = hello["last_event_id"]
            await ws.send(json.dumps({"type": "resume", "last_event_id": last}))
            self.ready += 1
            while not self.stop.is_set():
                try:
                    text = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                now = time.monotonic()
                frame = json.loads(text)
                if frame.get("type") == "ping":
                    await ws.send('{"type": "pong"}')
                    continue
                seq = frame.get("event_id")
                if seq is None or seq <= last:
                    continue
                last = seq
                await ws.send(json.dumps({"type": "receipt", "event_id": seq}))
                if frame.get("type") == "alarm":
                    self.arrivals.setdefault(frame["alarm_id"], []).append(now)
        finally:
            await ws.close()

    async def start(self):
        self.tasks = [asyncio.create_task(self._client(t)) for t in self.tokens]
        while self.ready < len(self.tokens):
            failed = [t for t in self.tasks if t.done()]
            if failed:
                failed[0].result()  # raises the client's error
            await asyncio.sleep(0.05)

    async def close(self):
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class _NoAnswer:
    status_code = 0


async def _post(client, url, token, n, phase):
    import httpx

    t0 = time.monotonic()
    try:
        resp = await client.post(f"{url}/api/v1/alarms",
                                 json={"template": "beistand", "client_id": f"{phase}-{n}"},
                                 headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        log(f"alarm {phase}-{n}: no answer ({exc!r}) after {time.monotonic() - t0:.1f} s")
        resp = _NoAnswer()
    return t0, (time.monotonic() - t0) * 1000, resp


async def _phase(url, token, receivers, phase, count, interval, keep_going=None):
    """One alarm after the other (the next ``interval`` after the previous one's answer - alarms
    are rare events, and a queue of them would measure the queue): at least ``count``, and
    while ``keep_going()``."""
    import httpx

    results = []
    async with httpx.AsyncClient(timeout=60) as client:
        answers = []
        n = 0
        while n < count or (keep_going is not None and keep_going()):
            answers.append(await _post(client, url, token, n, phase))
            n += 1
            await asyncio.sleep(interval)
        for t0, confirm_ms, resp in answers:
            alarm_id = resp.json()["id"] if resp.status_code == 201 else None
            if resp.status_code not in (0, 201):
                log(f"alarm not confirmed: {resp.status_code} {resp.text[:300]}")
            results.append({"t0": t0, "confirm": confirm_ms, "status": resp.status_code,
                            "id": alarm_id})
    return results


def _wait_delivered(receivers, results, expected, timeout=30.0):
    deadline = time.monotonic() + timeout
    ids = [r["id"] for r in results if r["id"] is not None]
    while time.monotonic() < deadline:
        if all(len(receivers.arrivals.get(i, [])) >= expected for i in ids):
            return
        time.sleep(0.1)


def _figures(results, receivers, expected):
    confirm = [r["confirm"] for r in results if r["status"] == 201]
    deliver, lost = [], 0
    for r in results:
        if r["id"] is None:
            continue
        got = receivers.arrivals.get(r["id"], [])
        lost += max(0, expected - len(got))
        deliver.extend((t - r["t0"]) * 1000 for t in got)
    return {
        "alarms": len(results),
        "confirmed": len(confirm),
        "not_confirmed": sum(1 for r in results if r["status"] != 201),
        "confirm_p50_ms": round(statistics.median(confirm), 1) if confirm else None,
        "confirm_p99_ms": round(pct(confirm, 0.99), 1) if confirm else None,
        "confirm_max_ms": round(max(confirm), 1) if confirm else None,
        "deliver_p50_ms": round(statistics.median(deliver), 1) if deliver else None,
        "deliver_p99_ms": round(pct(deliver, 0.99), 1) if deliver else None,
        "deliver_max_ms": round(max(deliver), 1) if deliver else None,
        "lost": lost,
    }


# --- main -------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--alarms", type=int, default=100)
    parser.add_argument("--receivers", type=int, default=20)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=2000, help="persons due for deletion")
    parser.add_argument("--lookups", type=int, default=20_000, help="look-up log rows")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between alarms")
    parser.add_argument("--split", action="store_true",
                        help="serve the HTTP load (documents, statistics) from a second server "
                             "process; alarms and receivers stay on the first")
    parser.add_argument("--only", default="import,backup,retention,http",
                        help="which background load to run (comma-separated)")
    parser.add_argument("--postgres", nargs="?", const="postgres://postgres@127.0.0.1:5432",
                        default="", help="server URL; a throw-away database is created")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="beistand-bench-load-")
    env = dict(os.environ, BEISTAND_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="beistand.settings",
               BEISTAND_LOG_LEVEL="WARNING", BEISTAND_DEMO="1",
               BEISTAND_BACKUP_KEY="bench-backup-key-" + "k" * 32,
               # One sender raises every measured alarm: the per-person flood limit is off.
               BEISTAND_ALARM_USER_MAX_PER_MINUTE="0")
    env.pop("REDIS_URL", None)
    db_name = None
    if args.postgres:
        import psycopg

        db_name = f"beistand_bench_load_{os.getpid()}"
        with psycopg.connect(args.postgres.rstrip("/") + "/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
        env["DATABASE_URL"] = f"{args.postgres.rstrip('/')}/{db_name}"
    beistand = [sys.executable, "-m", "beistand.cli"]
    servers = []
    try:
        log("loading the demo data ...")
        subprocess.run([*beistand, "demo", "--no-serve"], env=env, check=True, cwd=data_dir,
                       stdout=subprocess.DEVNULL)
        spec = {"receivers": args.receivers, "due": args.due, "lookups": args.lookups}
        out = subprocess.run([*beistand, "shell", "-c", SETUP],
                             env={**env, "BENCH_SPEC": json.dumps(spec)}, cwd=data_dir,
                             check=True, capture_output=True, text=True).stdout
        setup = json.loads(out.strip().splitlines()[-1])
        tokens = setup["tokens"]
        sys.path.insert(0, str(ROOT / "bench"))
        from import_register import write_file

        csv_path = Path(data_dir) / "altregister.csv"
        write_file(csv_path, args.import_rows, random.Random(7), date.today())

        import socket

        def start_server():
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "beistand.asgi:application", "--host",
                 "127.0.0.1", "--port", str(port), "--lifespan", "on", "--log-level",
                 "warning", "--ws", "websockets-sansio", "--ws-per-message-deflate", "false",
                 "--ws-ping-interval", "0"], env=env, cwd=data_dir)
            servers.append(proc)
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 300  # a shared, loaded machine starts slowly
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/api/v1/health", timeout=5):
                        return port
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)

        port = start_server()
        url, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
        load_url = f"http://127.0.0.1:{start_server()}" if args.split else url

        async def run():
            log("connecting receivers ...")
            receivers = Receivers(ws_url, [tokens[f"br{i}"] for i in range(args.receivers)])
            await receivers.start()
            sender = tokens["bsender"]
            await _phase(url, sender, receivers, "warm", 5, args.interval)
            log("phase idle ...")
            load_avg["idle"] = [os.getloadavg()[0]]
            idle = await _phase(url, sender, receivers, "idle", args.alarms, args.interval)
            load_avg["idle"].append(os.getloadavg()[0])
            await asyncio.to_thread(_wait_delivered, receivers, idle, args.receivers)

            log("phase load ...")
            only = set(args.only.split(","))
            commands = {
                "import": ["import-register", str(csv_path)],
                "backup": ["backup", "--output", str(Path(data_dir) / "b1.bak")],
                "retention": ["retention", "run"],
            }
            jobs = {name: subprocess.Popen([*beistand, *command], env=env, cwd=data_dir,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                           text=True)
                    for name, command in commands.items() if name in only}
            http = None
            if "http" in only:
                http = subprocess.Popen(
                    [sys.executable, __file__, LOAD_FLAG], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, text=True, bufsize=1)
                http.stdin.write(json.dumps({"url": load_url, "person": setup["person"],
                                             "zks": tokens["zks"],
                                             "stats": tokens["statistik"]}) + "\n")
                http.stdin.flush()
                await asyncio.to_thread(http.stdout.readline)
            started = time.monotonic()
            load_avg["load"] = [os.getloadavg()[0]]
            loaded = await _phase(url, sender, receivers, "load", args.alarms, args.interval,
                                  keep_going=lambda: any(p.poll() is None
                                                         for p in jobs.values()))
            seconds = time.monotonic() - started
            load_avg["load"].append(os.getloadavg()[0])
            http_counts = {}
            if http is not None:
                http.stdin.write("stop\n")
                http.stdin.flush()
                http_counts = json.loads(await asyncio.to_thread(http.stdout.readline))
                http.wait(timeout=120)
            job_rc = {}
            for name, proc in jobs.items():
                _, err = proc.communicate(timeout=600)
                job_rc[name] = proc.returncode
                if proc.returncode:
                    log(f"{name} failed: {err[-2000:]}")
            await asyncio.to_thread(_wait_delivered, receivers, loaded, args.receivers)
            await receivers.close()
            return idle, loaded, seconds, http_counts, job_rc, receivers

        load_avg = {}
        idle, loaded, seconds, http_counts, job_rc, receivers = asyncio.run(run())
        result = {
            "database": "postgresql" if args.postgres else "sqlite",
            "documents_process": "separate" if args.split else "same",
            # Layout and charts in render worker processes (core.offload); 0 = in the server.
            "render_processes": int(env.get("BEISTAND_RENDER_PROCESSES", "1")),
            "render_nice": int(env.get("BEISTAND_RENDER_NICE", "5")),
            # The machine's 1-minute load average at the start and end of each phase.
            "load_average": {phase: [round(v, 1) for v in values]
                             for phase, values in load_avg.items()},
            "receivers": args.receivers, "interval_s": args.interval,
            "import_rows": args.import_rows, "load_seconds": round(seconds, 1),
            "idle": _figures(idle, receivers, args.receivers),
            "load": _figures(loaded, receivers, args.receivers),
            "load_jobs_exit": job_rc,
            "load_requests": http_counts,
            "load_5xx": sum(n for key, n in http_counts.items()
                            if key.rsplit(":", 1)[1].startswith("5")),
        }
        print(json.dumps(result))
    finally:
        stop_servers(servers)
        if db_name:
            drop_database(args.postgres, db_name)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == LOAD_FLAG:
        _http_load_main(json.loads(sys.stdin.readline()))
    else:
        main()
