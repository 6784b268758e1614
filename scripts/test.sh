#!/usr/bin/env bash
# Installs everything and runs the whole test suite, exactly as CI does (.ci/run calls this):
#   1. scripts/bootstrap.sh (.venv, Python and npm packages) and Chromium for browser tests
#   2. ruff check; the browser JavaScript: node --test tests/js, tsc --noEmit --checkJs
#   3. migrations complete (makemigrations --check --dry-run), dependency audit (pip-audit)
#   4. pytest on SQLite (the embedded default, in a temporary data directory)
#   5. pytest again on PostgreSQL (the local server; a throw-away database)
#   6. the checkout is as the run found it (git status and the changed files' contents): tests
#      write only into temporary directories (docs/screenshots/: scripts/screenshots.sh)
# Every step runs even if an earlier one failed; a summary at the end names each result.
#
# Arguments go to both pytest runs instead of the default (all of tests/), e.g.
#   scripts/test.sh tests/audit -x
# Environment:
#   CI=true                 PostgreSQL missing is a failure (otherwise that run is skipped)
#   BEISTAND_TEST_WORKERS   pytest-xdist worker processes per run, default 3 (0: one process)
#   BEISTAND_CI_POSTGRES    server to use, default postgres://postgres@127.0.0.1:5432
set -euo pipefail
cd "$(dirname "$0")/.."

PG_SERVER="${BEISTAND_CI_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
PG_DB="beistand_ci_$$"
case "${CI:-}" in [Tt][Rr][Uu][Ee] | 1 | [Yy][Ee][Ss]) IN_CI=1 ;; *) IN_CI=0 ;; esac

WORK="$(mktemp -d "${TMPDIR:-/tmp}/beistand-test.XXXXXX")"
PG_CREATED=0
START=$SECONDS
RESULTS=()
FAILED=0

say() { printf '\n==> %s\n' "$*"; }
ok() { RESULTS+=("$1: ok${2:+ ($2)}"); }
skipped() { RESULTS+=("$1: SKIPPED ($2)"); }
failed() { RESULTS+=("$1: FAILED ($2)"); FAILED=1; }

# Small PostgreSQL helper through the venv's psycopg (psql need not be installed).
pg() {
    .venv/bin/python - "$PG_SERVER" "$PG_DB" "$1" <<'PY'
import sys

import psycopg

server, name, command = sys.argv[1:4]
try:
    conn = psycopg.connect(server.rstrip("/") + "/postgres", connect_timeout=5, autocommit=True)
except psycopg.Error as exc:
    print(f"PostgreSQL not reachable at {server}: {str(exc).strip().splitlines()[0]}")
    sys.exit(2)
with conn:
    if command == "create":
        may, superuser = conn.execute("SELECT rolcreatedb, rolsuper FROM pg_roles "
                                      "WHERE rolname = current_user").fetchone()
        if not (may or superuser):
            print(f"the role of {server} may not create databases "
                  "(ALTER ROLE ... CREATEDB, as a superuser)")
            sys.exit(3)
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    elif command == "drop":
        # pytest-django drops test_<name> itself; this also covers an interrupted run.
        for db in (name, f"test_{name}"):
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
PY
}

cleanup() {
    if [ "$PG_CREATED" = 1 ]; then pg drop >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# `git status` with a checksum of every changed or untracked file; empty outside a git checkout.
checkout_state() {
    git rev-parse --is-inside-work-tree >/dev/null 2>&1 || return 0
    git status --porcelain=v1 --untracked-files=all | while IFS= read -r line; do
        printf '%s %s
' "$line" "$({ sha256sum -- "${line:3}" 2>/dev/null || echo -; } | cut -d' ' -f1)"
    done
}
CHECKOUT_BEFORE="$(checkout_state)"

elapsed() { local s=$((SECONDS - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# pytest's exit codes: 0 all passed, 1 tests failed, 2 interrupted, 3 internal error, 4 usage
# error, 5 no tests collected. 5 counts as failure: a suite that collects nothing is broken (a
# wrong path, an import-time skip, a renamed directory), and must not look green.
run_pytest() {
    local label="$1" log="$WORK/$2.log" t0=$SECONDS rc
    shift 2
    set +e
    env "$@" .venv/bin/pytest -q -p no:cacheprovider "${XDIST_ARGS[@]}" "${PYTEST_ARGS[@]}" 2>&1 \
        | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    local tally
    tally="$({ grep -E '^(=+ )?[0-9]+ (passed|failed|errors?|skipped|deselected|xpassed|xfailed)' \
        "$log" || true; } | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')"
    case "$rc" in
        0) ok "$label" "${tally:-passed}, $(elapsed "$t0")" ;;
        5) failed "$label" "pytest collected no tests (exit code 5): a suite that collects nothing is broken" ;;
        *) failed "$label" "pytest exit code $rc: ${tally:-see output above}" ;;
    esac
}

if [ "$#" -gt 0 ]; then PYTEST_ARGS=("$@"); else PYTEST_ARGS=(tests); fi
# Most tests wait on servers, browsers and subprocesses rather than compute, so several
# pytest-xdist worker processes share the cores (3 by default; BEISTAND_TEST_WORKERS=0 runs in
# one process). Each worker takes whole files (module fixtures such as a browser or a server
# start once per file) and has its own test database.
WORKERS="${BEISTAND_TEST_WORKERS:-3}"
case "$WORKERS" in
    '' | *[!0-9]*) echo "BEISTAND_TEST_WORKERS must be a number (got '$WORKERS')" >&2; exit 2 ;;
esac
if [ "$WORKERS" -gt 0 ]; then XDIST_ARGS=(-n "$WORKERS" --dist loadfile); else XDIST_ARGS=(); fi

say "Installing beistand (scripts/bootstrap.sh)"
scripts/bootstrap.sh

# The browser tests drive Debian's Chromium through its driver.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "Installing Chromium and its driver for the browser tests (Debian packages)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            chromium chromium-driver >/dev/null
    else
        echo "Chromium is missing; browser tests need it (Debian: sudo apt-get install chromium chromium-driver)." >&2
        exit 1
    fi
fi

# The desktop client's Qt tests (tests/desktop) run with QT_QPA_PLATFORM=offscreen, which still
# needs these shared libraries (Debian packages, installed only when one is missing).
# The desktop sessions of tests/desktop/test_xvfb_session.py and test_locked_session.py need a
# virtual X server, a window manager, xdotool, D-Bus and Qt's xcb plugin libraries.
QT_DEBS=(libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0
         xvfb xdotool openbox dbus libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
         x11-utils)
if [ "$(dpkg-query -W -f='${Status}\n' "${QT_DEBS[@]}" 2>/dev/null | grep -c 'ok installed')" \
        != "${#QT_DEBS[@]}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing what the desktop client tests need: Qt libraries, Xvfb, openbox (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${QT_DEBS[@]}" >/dev/null
fi

say "ruff check"
if .venv/bin/ruff check src tests bench clients; then ok "ruff"; else failed "ruff" "lint errors above"; fi

say "JavaScript unit tests (node --test tests/js)"
# The shared alarm state reducer, and that docs/alarm-protocol.schema.json is current.
if node --test tests/js; then ok "node --test"; else failed "node --test" "failing JavaScript tests above"; fi

say "Type check of the browser JavaScript (tsc --noEmit --checkJs)"
# Against the alarm protocol's types (src/beistand/alarms/static/alarms/protocol.d.ts).
if node_modules/.bin/tsc --noEmit --checkJs -p tsconfig.json; then ok "tsc"; else
    failed "tsc" "type errors above"; fi

say "Migrations complete? (makemigrations --check --dry-run)"
if env -u DATABASE_URL BEISTAND_DATA_DIR="$WORK/migrations" \
        .venv/bin/beistand makemigrations --check --dry-run; then
    ok "migrations"
else
    failed "migrations" "a model change has no migration; run: beistand makemigrations <app>"
fi

say "Dependency audit (pip-audit, vulnerability data from PyPI)"
# Known vulnerabilities in the installed packages fail the run. When the vulnerability service
# cannot be reached, or knows none of the installed versions, nothing was audited: the step is
# then reported as skipped with the reason, never as passed.
set +e
.venv/bin/pip-audit --progress-spinner off --vulnerability-service pypi --skip-editable \
    --format json --output "$WORK/pip-audit.json" 2>"$WORK/pip-audit.err"
audit_rc=$?
set -e
audit="$(.venv/bin/python - "$WORK/pip-audit.json" "$WORK/pip-audit.err" "$audit_rc" <<'PY'
import json
import sys

report, errors, rc = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    deps = json.load(open(report))["dependencies"]
except (OSError, ValueError, KeyError):
    lines = [line for line in open(errors).read().splitlines() if line.strip()]
    print(f"skipped\tvulnerability service unreachable (exit code {rc}): "
          f"{lines[-1][:200] if lines else 'no output'}")
    sys.exit()
vulnerable = [f"{d['name']} {d['version']}: {', '.join(v['id'] for v in d['vulns'])}"
              for d in deps if d.get("vulns")]
audited = [d for d in deps if not d.get("skip_reason")]
if vulnerable:
    print("failed\tknown vulnerabilities: " + "; ".join(vulnerable))
elif not audited:
    reason = next((d["skip_reason"] for d in deps if d.get("skip_reason")), "no packages")
    print(f"skipped\tnothing could be audited ({len(deps)} packages; e.g. {reason[:120]})")
else:
    print(f"ok\t{len(audited)} packages audited, {len(deps) - len(audited)} not known to "
          "the service")
PY
)"
echo "$audit"
case "${audit%%$'\t'*}" in
    ok) ok "pip-audit" "${audit#*$'\t'}" ;;
    failed) failed "pip-audit" "${audit#*$'\t'}" ;;
    *) skipped "pip-audit" "${audit#*$'\t'}" ;;
esac

say "pytest on SQLite"
run_pytest "pytest SQLite" sqlite -u DATABASE_URL -u REDIS_URL BEISTAND_DATA_DIR="$WORK/sqlite"

say "pytest on PostgreSQL ($PG_SERVER, database $PG_DB)"
set +e
pg_message="$(pg create)"
pg_rc=$?
set -e
if [ "$pg_rc" = 0 ]; then
    PG_CREATED=1
    run_pytest "pytest PostgreSQL" postgres -u REDIS_URL BEISTAND_DATA_DIR="$WORK/postgres" \
        DATABASE_URL="$PG_SERVER/$PG_DB"
elif [ "$IN_CI" = 1 ]; then
    echo "$pg_message" >&2
    failed "pytest PostgreSQL" "$pg_message; CI=true requires PostgreSQL"
else
    echo "$pg_message" >&2
    echo "Skipping the PostgreSQL run because CI is not set (with CI=true this fails)." >&2
    skipped "pytest PostgreSQL" "$pg_message; not in CI"
fi

say "Checkout unchanged? (git status and file contents, before and after)"
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    skipped "clean checkout" "not a git checkout"
elif checkout_after="$(checkout_state)" && [ "$checkout_after" = "$CHECKOUT_BEFORE" ]; then
    ok "clean checkout"
else
    changed="$(diff <(printf '%s\n' "$CHECKOUT_BEFORE") <(printf '%s\n' "$checkout_after") \
        | sed -n 's/^[<>] ...\(.*\) [^ ]*$/\1/p' | sort -u || true)"
    printf '%s\n' "$changed"
    failed "clean checkout" "the run wrote into the checkout: $(echo "$changed" | head -n 5 \
        | tr '\n' ' ')(tests must write to temporary directories)"
fi

say "Summary"
for line in "${RESULTS[@]}"; do echo "  $line"; done
if [ "$FAILED" = 0 ]; then verdict="PASSED"; else verdict="FAILED"; fi
summary=""
for line in "${RESULTS[@]}"; do summary="${summary:+$summary | }$line"; done
echo "beistand tests $verdict in $(elapsed "$START") -- $summary"
exit "$FAILED"
