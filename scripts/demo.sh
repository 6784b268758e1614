#!/usr/bin/env bash
# Installs everything (scripts/bootstrap.sh) and starts the demo "Stadt Musterstadt" on
# http://127.0.0.1:8000 (`beistand demo` migrates and loads the demo data idempotently).
# Extra arguments go to `beistand demo`, e.g. scripts/demo.sh --port 8001.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/beistand demo "$@"
