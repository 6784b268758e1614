#!/usr/bin/env bash
# Runs the production set-up once on this machine, the way docs/operations.md describes it:
#   PostgreSQL with an owner role (migrations) and an application role (grants.sql),
#   two uvicorn web processes (8001, 8002) and a worker under the application role,
#   nginx with a self-signed certificate in front (https://localhost:8443),
# then checks /health/ready and an alarm over WebSockets through nginx (two sockets, one per
# process: the alarm reaches both, so the fan-out between the processes works), runs the
# synthetic Probealarm, restarts one web process and checks that the alarm client resumes.
# Everything lives in a temporary directory and is stopped at the end; the database and roles
# (beistand_try*) are dropped. Needs: root or a PostgreSQL superuser "postgres" with trust
# auth on 127.0.0.1, nginx and openssl (Debian: apt-get install nginx openssl postgresql).
#   deploy/try-local.sh            # keep nothing
#   KEEP=1 deploy/try-local.sh     # leave everything running, print how to stop it
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PY="$ROOT/.venv/bin/python"
BEISTAND="$ROOT/.venv/bin/beistand"
PG="${BEISTAND_TRY_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
DB=beistand_try OWNER=beistand_try_owner APP=beistand_try_app
WORK="$(mktemp -d "${TMPDIR:-/tmp}/beistand-try.XXXXXX")"
PIDS=()
say() { printf '\n==> %s\n' "$*"; }

psql_su() { psql "$PG/postgres" -v ON_ERROR_STOP=1 -q "$@"; }

cleanup() {
    [ "${KEEP:-0}" = 1 ] && { echo "left running in $WORK (pids ${PIDS[*]}); stop: kill ${PIDS[*]}; nginx -p $WORK -c $WORK/nginx.conf -s stop"; return; }
    [ -f "$WORK/nginx.pid" ] && nginx -p "$WORK" -c "$WORK/nginx.conf" -s stop 2>/dev/null || true
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    psql_su -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP ROLE IF EXISTS $APP" \
        -c "DROP ROLE IF EXISTS $OWNER" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v nginx >/dev/null || { echo "nginx missing (apt-get install nginx)"; exit 1; }

say "PostgreSQL: database $DB, owner $OWNER, application role $APP (deploy/postgres/create.sql)"
psql_su -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP ROLE IF EXISTS $APP" \
    -c "DROP ROLE IF EXISTS $OWNER"
psql_su -v db=$DB -v owner=$OWNER -v app=$APP -v owner_pw=owner-pw -v app_pw=app-pw \
    -f deploy/postgres/create.sql
HOSTPORT="${PG#postgres://postgres@}"
OWNER_URL="postgres://$OWNER:owner-pw@$HOSTPORT/$DB"
APP_URL="postgres://$APP:app-pw@$HOSTPORT/$DB"

cat > "$WORK/beistand.env" <<ENV
BEISTAND_DATA_DIR=$WORK/data
BEISTAND_SECRET_KEY=try-local-$(date +%s)-secret-key-for-all-processes
BEISTAND_BASE_URL=https://localhost:8443
DATABASE_URL=$APP_URL
BEISTAND_BEHIND_PROXY=true
BEISTAND_ALLOWED_HOSTS=localhost,127.0.0.1
BEISTAND_CSRF_TRUSTED_ORIGINS=https://localhost:8443
BEISTAND_LOG_FORMAT=json
BEISTAND_PROBE_TIME=
BEISTAND_PROBE_URL=http://127.0.0.1:8001
ENV
set -a; . "$WORK/beistand.env"; set +a

say "beistand migrate (owner role), then deploy/postgres/grants.sql (owner role)"
DATABASE_URL="$OWNER_URL" "$BEISTAND" migrate --noinput -v 0
psql "$OWNER_URL" -v ON_ERROR_STOP=1 -q -v app=$APP -f deploy/postgres/grants.sql
"$BEISTAND" collectstatic --noinput -v 0
# A person with a login to test the alarm with (no privileged role: no second factor).
"$BEISTAND" shell -c "
from django.contrib.auth import get_user_model
from django.db import transaction
from beistand.alarms.seed import ensure_defaults
ensure_defaults()
with transaction.atomic():
    get_user_model().objects.create_user('probe', password='Richtig-Pferd-Batterie-42')
"

say "TLS certificate (self-signed) and nginx on https://localhost:8443"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WORK/privkey.pem" -out "$WORK/fullchain.pem" 2>/dev/null
mkdir -p "$WORK/snippets" "$WORK/logs"
cp deploy/nginx/beistand-proxy.conf "$WORK/snippets/"
sed -e "s#/etc/ssl/beistand/#$WORK/#; s#/etc/nginx/snippets/#$WORK/snippets/#" \
    -e "s#listen 443 ssl http2;#listen 8443 ssl http2;#; s#listen \[::\]:443 ssl http2;##" \
    -e "s#listen 80;#listen 8080;#; s#listen \[::\]:80;##" \
    -e "s#server_name beistand.example.de;#server_name localhost;#" \
    -e "s#/var/log/nginx/#$WORK/logs/#" \
    deploy/nginx/beistand.conf > "$WORK/beistand.conf"
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log $WORK/logs/access.log;
    client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy;
    fastcgi_temp_path $WORK/fastcgi; uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
    include $WORK/beistand.conf;
}
NGINX
nginx -t -q -p "$WORK" -c "$WORK/nginx.conf"

start_web() {
    "$ROOT/.venv/bin/uvicorn" beistand.asgi:application --host 127.0.0.1 --port "$1" \
        --lifespan on --ws websockets-sansio --ws-per-message-deflate false \
        --proxy-headers --forwarded-allow-ips 127.0.0.1 --no-access-log \
        >"$WORK/logs/web-$1.log" 2>&1 &
    echo $!
}
say "Two web processes (8001, 8002), the worker, nginx"
WEB1=$(start_web 8001); WEB2=$(start_web 8002)
"$BEISTAND" worker >"$WORK/logs/worker.log" 2>&1 &
WORKER=$!
PIDS=("$WEB1" "$WEB2" "$WORKER")
nginx -p "$WORK" -c "$WORK/nginx.conf"
for port in 8001 8002; do
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && break; sleep 0.2; done
done

say "Checks through nginx"
WEB1_PID=$WEB1 WORK=$WORK "$PY" - <<'CHECK'
import asyncio, json, os, signal, ssl, subprocess, time, urllib.request

import websockets

BASE, WSS = "https://localhost:8443", "wss://localhost:8443/ws/v1/alarms"
TLS = ssl.create_default_context(cafile=os.environ["WORK"] + "/fullchain.pem")

def http(method, path, body=None, token=None):
    req = urllib.request.Request(BASE + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(req, context=TLS, timeout=10) as r:
            status, headers, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, e.headers, e.read()
    is_json = "json" in (headers.get("Content-Type") or "")
    return status, headers, json.loads(raw) if is_json and raw else None

for _ in range(40):  # the worker's first heartbeat
    status, headers, ready = http("GET", "/health/ready")
    if status == 200:
        break
    time.sleep(0.5)
print("GET /health/ready ->", status, {k: v["status"] for k, v in ready["checks"].items()})
assert status == 200, ready
print("  Strict-Transport-Security:", headers.get_all("Strict-Transport-Security"))
status, headers, _ = http("GET", "/konto/anmelden/")
print("GET /konto/anmelden/ ->", status, "CSP:", "Content-Security-Policy" in headers,
      "X-Frame-Options:", headers.get("X-Frame-Options"))
status, _, _ = http("GET", "/metrics")
print("GET /metrics through nginx ->", status, "(only on the loopback ports)")
with urllib.request.urlopen("http://127.0.0.1:8001/metrics", timeout=10) as r:
    assert b"beistand_alarm_clients_connected" in r.read()
status, _, body = http("POST", "/api/v1/auth/token",
                       {"username": "probe", "password": "Richtig-Pferd-Batterie-42"})
assert status == 201, body
token = body["token"]

async def receive(ws, alarm_id, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if "event_id" in frame:
            await ws.send(json.dumps({"type": "receipt", "event_id": frame["event_id"]}))
            if frame.get("type") == "alarm" and frame.get("alarm_id") == alarm_id:
                return frame["event_id"]

async def connect(last=None):
    ws = await websockets.connect(WSS, ssl=TLS, additional_headers={"Authorization": f"Bearer {token}"})
    hello = json.loads(await ws.recv())
    await ws.send(json.dumps({"type": "resume", "last_event_id": hello["last_event_id"] if last is None else last}))
    return ws, hello

async def main():
    a, _ = await connect()
    b, _ = await connect()   # least_conn: the second socket lands on the other process
    await asyncio.sleep(0.5)
    per_port = {}
    for port in (8001, 8002):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            per_port[port] = sum(float(line.rsplit(" ", 1)[1]) for line in r.read().decode()
                                 .splitlines() if line.startswith("beistand_alarm_clients_connected{"))
    print("alarm sockets per web process (metrics):", per_port)
    assert per_port == {8001: 1.0, 8002: 1.0}, per_port
    t0 = time.monotonic()
    status, _, alarm = await asyncio.to_thread(http, "POST", "/api/v1/alarms",
                                               {"template": "probealarm", "client_id": "try-1"}, token)
    assert status == 201, alarm
    await asyncio.gather(receive(a, alarm["id"]), receive(b, alarm["id"]))
    print(f"alarm {alarm['id']} through nginx: stored (201) and received on both sockets "
          f"in {1000 * (time.monotonic() - t0):.0f} ms")
    # Restart web process 8001 (as a rolling update does): clients reconnect and resume.
    os.kill(int(os.environ["WEB1_PID"]), signal.SIGTERM)
    await asyncio.sleep(1.5)
    for ws in (a, b):
        await ws.close()
    c, hello = await connect(last=None)
    status, _, second = await asyncio.to_thread(http, "POST", "/api/v1/alarms",
                                                {"template": "probealarm", "client_id": "try-2"}, token)
    assert status == 201, second
    await receive(c, second["id"])
    print(f"with 8001 stopped: alarm {second['id']} stored and received through the remaining process")
    await c.close()

asyncio.run(main())
CHECK

say "Restart web process 8001 (rolling update: one at a time)"
wait "$WEB1" 2>/dev/null || true
WEB1=$(start_web 8001); PIDS=("$WEB1" "$WEB2" "$WORKER")
for _ in $(seq 50); do curl -sf http://127.0.0.1:8001/health/ready >/dev/null && break; sleep 0.2; done
curl -s http://127.0.0.1:8001/health/ready | "$PY" -c "import json,sys; d=json.load(sys.stdin); print('8001 ready again:', d['status'])"

say "Synthetic Probealarm (what the worker runs daily at BEISTAND_PROBE_TIME)"
"$BEISTAND" shell -c "
from beistand.ops import supervision
run = supervision.run_probe(base_url='http://127.0.0.1:8001')
print('Probealarm:', 'ok' if run.ok else 'FAILED', run.detail, f'({run.seconds:.2f} s)')
assert run.ok
"
say "The application role cannot change the audit trail"
psql "$APP_URL" -q -c "DELETE FROM audit_auditevent" 2>&1 | head -1 || true
grep -h '"level": "ERROR"' "$WORK"/logs/*.log | head -5 || true
say "try-local: all checks passed"
