#!/usr/bin/env bash
# The unattended deployment drill (issue 20): the production set-up of docs/operations.md on this
# machine in a scratch directory - PostgreSQL owner and application roles (create.sql through a
# pipe, migrate and apply-grants as the owner), nginx with TLS (deploy/nginx, BSI settings), two
# web processes and the worker - then a ROLLING UPGRADE with the documented health-checked loop
# while an alarm WebSocket client is connected through nginx and an alarm is triggered every
# 200 ms through a device trigger URL; then a backup and `restore-complete` into a second
# database; then a search of every log for token prefixes (bst_, bsd_).
# Prints JSON on the last line: failed triggers, longest gap without an alarm connection,
# alarm delays (p50/p99/max), restore result, token lines in logs.
# Needs root (or a PostgreSQL superuser "postgres" with trust on 127.0.0.1), nginx, openssl.
#   deploy/drill.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PY="$ROOT/.venv/bin/python"
BEISTAND="$ROOT/.venv/bin/beistand"
PG="${BEISTAND_DRILL_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
DB=beistand_drill DB2=beistand_drill_restored OWNER=beistand_drill_owner APP=beistand_drill_app
WORK="$(mktemp -d "${TMPDIR:-/tmp}/beistand-drill.XXXXXX")"
chmod 0755 "$WORK"
PIDS=()
say() { printf '==> %s\n' "$*" >&2; }
psql_su() { psql "$PG/postgres" -v ON_ERROR_STOP=1 -q "$@"; }
cleanup() {
    [ -f "$WORK/nginx.pid" ] && nginx -p "$WORK" -c "$WORK/nginx.conf" -s stop 2>/dev/null || true
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    psql_su -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DB2 WITH (FORCE)" \
        -c "DROP ROLE IF EXISTS $APP" -c "DROP ROLE IF EXISTS $OWNER" >/dev/null 2>&1 || true
    [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
command -v nginx >/dev/null || { echo "nginx missing (apt-get install nginx)"; exit 1; }

say "PostgreSQL roles and database (create.sql, passwords through a pipe)"
psql_su -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DB2 WITH (FORCE)" \
    -c "DROP ROLE IF EXISTS $APP" -c "DROP ROLE IF EXISTS $OWNER"
OWNER_PW=$(openssl rand -hex 24); APP_PW=$(openssl rand -hex 24)
{ printf "\\set owner_pw '%s'\n\\set app_pw '%s'\n" "$OWNER_PW" "$APP_PW"; cat deploy/postgres/create.sql; } \
    | psql "$PG/postgres" -v ON_ERROR_STOP=1 -q -v db=$DB -v owner=$OWNER -v app=$APP
HOSTPORT="${PG#postgres://postgres@}"
printf '%s:%s:*:%s:%s\n' "${HOSTPORT%%:*}" "${HOSTPORT##*:}" "$OWNER" "$OWNER_PW" > "$WORK/owner.pgpass"
chmod 0600 "$WORK/owner.pgpass"
OWNER_URL="postgres://$OWNER@$HOSTPORT/$DB"
{ printf 'BEISTAND_DATA_DIR=%s/data\nBEISTAND_BASE_URL=https://localhost:8443\n' "$WORK"
  printf 'DATABASE_URL=postgres://%s:%s@%s/%s\n' "$APP" "$APP_PW" "$HOSTPORT" "$DB"
  grep -E '^BEISTAND_(BEHIND_PROXY|ALLOWED_HOSTS|SECURE_COOKIES|LOG_FORMAT|PROBE_URL)=' deploy/beistand.env.example
  printf 'BEISTAND_CSRF_TRUSTED_ORIGINS=https://localhost:8443\nBEISTAND_PROBE_TIME=\n'
  # An alarm every 200 ms from one device is far beyond the flood limits of a real button.
  printf 'BEISTAND_ALARM_USER_MAX_PER_MINUTE=0\nBEISTAND_ALARM_DEVICE_MAX_PER_HOUR=100000\n'
  printf 'BEISTAND_BACKUP_KEY=%s\nBEISTAND_NODE_MODULES=%s/node_modules\n' "$(openssl rand -hex 20)" "$ROOT"
} > "$WORK/beistand.env"
set -a; . "$WORK/beistand.env"; set +a
export PGPASSFILE="$WORK/owner.pgpass"

say "migrate and apply-grants as the owner, collectstatic"
DATABASE_URL="$OWNER_URL" "$BEISTAND" migrate --noinput -v 0
DATABASE_URL="$OWNER_URL" "$BEISTAND" apply-grants --app-role $APP >&2
"$BEISTAND" collectstatic --noinput -v 0

say "nginx with TLS on https://localhost:8443 (deploy/nginx, limits)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WORK/privkey.pem" -out "$WORK/fullchain.pem" 2>/dev/null
mkdir -p "$WORK/snippets" "$WORK/logs"
cp deploy/nginx/beistand-proxy.conf "$WORK/snippets/"
sed -e "s#/etc/ssl/beistand/#$WORK/#; s#/etc/nginx/snippets/#$WORK/snippets/#" \
    -e "s#listen 443 ssl http2;#listen 8443 ssl http2;#; s#listen \[::\]:443 ssl http2;##" \
    -e "s#listen 80;#listen 8080;#; s#listen \[::\]:80;##" \
    -e "s#server_name beistand.example.de;#server_name localhost;#" \
    -e "s#/var/log/nginx/#$WORK/logs/#" deploy/nginx/beistand.conf > "$WORK/beistand.conf"
cat > "$WORK/nginx.conf" <<NGINX
$(grep -v '^#' deploy/nginx/beistand-limits.conf)
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/nginx-error.log warn;
events { worker_connections 8192; }
http {
    access_log $WORK/logs/nginx-access.log;
    client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy;
    fastcgi_temp_path $WORK/fastcgi; uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
    include $WORK/beistand.conf;
}
NGINX
nginx -t -q -p "$WORK" -c "$WORK/nginx.conf"

start_web() {  # the command line of deploy/systemd/beistand-web@.service
    "$ROOT/.venv/bin/uvicorn" beistand.asgi:application --host 127.0.0.1 --port "$1" \
        --lifespan on --ws websockets-sansio --ws-per-message-deflate false \
        --proxy-headers --forwarded-allow-ips 127.0.0.1 --no-access-log \
        --timeout-graceful-shutdown 10 >>"$WORK/logs/web-$1.log" 2>&1 &
    echo $!
}
declare -A WEB
WEB[8001]=$(start_web 8001); WEB[8002]=$(start_web 8002)
"$BEISTAND" worker >"$WORK/logs/worker.log" 2>&1 &
WORKER=$!
PIDS=("${WEB[8001]}" "${WEB[8002]}" "$WORKER")
nginx -p "$WORK" -c "$WORK/nginx.conf"
ready() { curl -sf -o /dev/null "http://127.0.0.1:$1/health/ready"; }
for port in 8001 8002; do
    for _ in $(seq 120); do ready $port && break; sleep 0.5; done
    ready $port || { echo "web $port not ready"; curl -s "http://127.0.0.1:$port/health/ready"; exit 1; }
done

say "device token for the drill"
DEVICE_TOKEN=$("$BEISTAND" shell -c "
from django.db import transaction
from beistand.ops import supervision as s
from beistand.accounts.tokens import new_secret
from beistand.accounts.services import DEVICE_TOKEN_PREFIX
from beistand.alarms.seed import ensure_defaults
ensure_defaults()
clear, prefix, digest = new_secret(DEVICE_TOKEN_PREFIX)
with transaction.atomic(), s.audit.acting_as(s.SYSTEM_ACTOR):
    s.DeviceToken.objects.create(name='Drill', kind=s.DeviceToken.Kind.WORKSTATION,
                                 user=s._probe_user(), prefix=prefix, token_hash=digest)
user = s._probe_user()
user.set_password('Drill-Pferd-Batterie-42'); user.save()
print(clear, user.username)
" | tail -1)
read -r DEVICE_TOKEN DRILL_USER <<< "$DEVICE_TOKEN"

# The rolling upgrade: the loop of docs/operations.md (restart = SIGTERM, wait, start).
upgrade() {
    sleep 3
    for port in 8001 8002; do
        # systemctl restart: SIGTERM, wait until the old process is gone, start.
        kill -TERM "${WEB[$port]}"
        while kill -0 "${WEB[$port]}" 2>/dev/null; do sleep 0.1; done
        WEB[$port]=$(start_web $port)
        for i in $(seq 60); do ready $port && break; sleep 1; done
        ready $port || { echo "web $port not ready after restart:" >&2
                         curl -s "http://127.0.0.1:$port/health/ready" >&2
                         echo "$port" > "$WORK/upgrade.failed"; break; }
    done
    echo "${WEB[8001]} ${WEB[8002]}" > "$WORK/web.pids"
    sleep 3
    touch "$WORK/upgrade.done"
}
say "rolling upgrade while alarms are triggered every 200 ms"
upgrade &
UPGRADER=$!
DEVICE_TOKEN="$DEVICE_TOKEN" DRILL_USER="$DRILL_USER" WORK="$WORK" "$PY" - > "$WORK/alarms.json" <<'DRILL'
import asyncio, json, os, ssl, statistics, time, urllib.error, urllib.request
import websockets

BASE, WSS = "https://localhost:8443", "wss://localhost:8443/ws/v1/alarms"
TLS = ssl.create_default_context(cafile=os.environ["WORK"] + "/fullchain.pem")
TOKEN = os.environ["DEVICE_TOKEN"]
done_file = os.environ["WORK"] + "/upgrade.done"
sent, received, failed, gaps, resolve_errors = {}, {}, [], [], []
state = {"down_since": None, "last": 0}

def trigger(n):
    req = urllib.request.Request(f"{BASE}/api/v1/trigger/{TOKEN}?template=probealarm"
                                 f"&source=desktop&client_id=drill-{n}", method="POST", data=b"")
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, context=TLS, timeout=10) as r:
            return t0, r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return t0, e.code, None
    except OSError as e:
        return t0, type(e).__name__, None

def user_token():
    req = urllib.request.Request(f"{BASE}/api/v1/auth/token", method="POST", data=json.dumps(
        {"username": os.environ["DRILL_USER"], "password": "Drill-Pferd-Batterie-42"}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=TLS, timeout=10) as r:
        return json.loads(r.read())["token"]


USER_TOKEN = user_token()


def resolve(aid):
    req = urllib.request.Request(f"{BASE}/api/v1/alarms/{aid}/resolve", method="POST",
                                 data=b'{"note": "Drill"}', headers={
                                     "Authorization": f"Bearer {USER_TOKEN}",
                                     "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=TLS, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        resolve_errors.append(e.code)
        return e.code
    except OSError as e:
        resolve_errors.append(type(e).__name__)


async def receiver(stop):
    while not stop.is_set():
        try:
            async with websockets.connect(WSS, ssl=TLS, additional_headers={
                    "Authorization": f"Bearer {TOKEN}"}, open_timeout=5) as ws:
                hello = json.loads(await ws.recv())
                if state["down_since"] is not None:
                    gaps.append(time.monotonic() - state["down_since"])
                    state["down_since"] = None
                await ws.send(json.dumps({"type": "resume", "last_event_id": state["last"] or hello.get("last_event_id", 0)}))
                while not stop.is_set():
                    try:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                    except TimeoutError:
                        continue
                    if "event_id" in frame:
                        state["last"] = max(state["last"], frame["event_id"])
                        await ws.send(json.dumps({"type": "receipt", "event_id": frame["event_id"]}))
                    alarm = frame.get("alarm") if isinstance(frame.get("alarm"), dict) else {}
                    aid = alarm.get("id", frame.get("alarm_id"))
                    if frame.get("type") == "alarm" and aid is not None and aid not in received:
                        received[aid] = time.monotonic()
                        # All-clear at once: the next trigger is a new alarm, not the open one.
                        asyncio.get_running_loop().run_in_executor(None, resolve, aid)
        except Exception:
            pass
        if state["down_since"] is None and not stop.is_set():
            state["down_since"] = time.monotonic()
        await asyncio.sleep(0.05)

async def main():
    stop = asyncio.Event()
    rx = asyncio.create_task(receiver(stop))
    await asyncio.sleep(1.5)
    n = 0
    while not os.path.exists(done_file):
        n += 1
        t0, status, body = await asyncio.to_thread(trigger, n)
        if status in (200, 201) and body:
            sent.setdefault(body["id"], t0)
        else:
            failed.append(status)
        await asyncio.sleep(max(0, 0.2 - (time.monotonic() - t0)))
    deadline = time.monotonic() + 10
    while set(sent) - set(received) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    stop.set(); await rx
    delays = sorted(received[a] - sent[a] for a in sent if a in received)
    q = statistics.quantiles(delays, n=100, method="inclusive") if len(delays) > 1 else delays or [0]
    print(json.dumps({"triggers": n, "failed_triggers": len(failed), "failures": failed[:10],
                      "alarms_not_received": len(set(sent) - set(received)),
                      "longest_connection_gap_s": round(max(gaps, default=0), 3),
                      "reconnects": len(gaps), "resolve_errors": resolve_errors[:5],
                      "alarms": len(sent),
                      "alarm_delay_ms": {"p50": round(1000 * statistics.median(delays), 1) if delays else None,
                                         "p99": round(1000 * q[min(98, len(q) - 1)], 1) if delays else None,
                                         "max": round(1000 * max(delays), 1) if delays else None}}))

asyncio.run(main())
DRILL
wait "$UPGRADER" || true
read -r W1 W2 < "$WORK/web.pids"; PIDS=("$W1" "$W2" "$WORKER")
UPGRADE=ok; [ -f "$WORK/upgrade.failed" ] && UPGRADE="web $(cat "$WORK/upgrade.failed") not ready"


say "backup, then restore-complete into a second database ($DB2)"
"$BEISTAND" backup --output "$WORK/drill.bak" >&2
psql_su -c "CREATE DATABASE $DB2 OWNER $OWNER ENCODING 'UTF8' TEMPLATE template0"
RESTORE_DIR="$WORK/restored"; mkdir -p "$RESTORE_DIR"
if BEISTAND_DATA_DIR="$RESTORE_DIR" DATABASE_URL="postgres://$OWNER@$HOSTPORT/$DB2" \
    "$BEISTAND" restore-complete "$WORK/drill.bak" --app-role $APP --yes \
    --service-user "$(id -un)" > "$WORK/restore.log" 2>&1; then RESTORE=ok; else RESTORE=failed; fi
cat "$WORK/restore.log" >&2

say "token prefixes in the logs"
TOKEN_LINES=$(cat "$WORK"/logs/* | grep -cE 'bs[td]_[A-Za-z0-9_-]{8}' || true)
"$PY" - "$WORK/alarms.json" "$RESTORE" "$TOKEN_LINES" "$UPGRADE" <<'OUT'
import json, sys
result = json.load(open(sys.argv[1]))
result.update(restore=sys.argv[2], token_lines_in_logs=int(sys.argv[3]), upgrade=sys.argv[4])
result["targets_met"] = (result["failed_triggers"] == 0 and result["longest_connection_gap_s"] <= 2
                         and (result["alarm_delay_ms"]["p99"] or 0) < 1000
                         and result["restore"] == "ok" and result["token_lines_in_logs"] == 0
                         and result["upgrade"] == "ok" and result["alarms_not_received"] == 0)
print(json.dumps(result))
OUT
