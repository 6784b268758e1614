#!/usr/bin/env bash
# Rewrites the documentation screenshots in docs/screenshots/ from the application itself.
#
# The browser tests that show a page take their screenshots in every test run, but into a
# temporary directory: the test suite never writes into the checkout. This script runs only those
# tests (pytest marker `screenshots`) with `--screenshots docs/screenshots`, against a throw-away
# SQLite database, so the images are the real pages with the demo data or the tests' cast.
#
#   scripts/screenshots.sh              every browser screenshot (and the desktop client's)
#   scripts/screenshots.sh -k alarm     only some; arguments go to pytest
#
# The desktop client's two images need an X server: with xvfb-run installed and no arguments
# given they are rewritten too (clients/desktop/tools/screenshots.py), else the script says so.
# Review the changed images (git status, git diff --stat) and commit them with the change that
# altered the pages.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=docs/screenshots
WORK="$(mktemp -d "${TMPDIR:-/tmp}/beistand-screenshots.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

env -u DATABASE_URL -u REDIS_URL BEISTAND_DATA_DIR="$WORK" \
    .venv/bin/pytest -q -p no:cacheprovider -m screenshots --screenshots "$OUT" tests/browser "$@"

if [ "$#" -gt 0 ]; then
    :
elif command -v xvfb-run >/dev/null 2>&1 && .venv/bin/python -c "import beistand_desktop" 2>/dev/null; then
    xvfb-run -a -s "-screen 0 1280x900x24" \
        .venv/bin/python clients/desktop/tools/screenshots.py "$OUT"
else
    echo "Desktop client images (desktop-*.png) not rewritten: they need xvfb-run" \
        "(Debian: apt-get install xvfb) and the desktop client in .venv." >&2
fi

echo "Changed images:"
git status --short -- "$OUT"
