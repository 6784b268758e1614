#!/usr/bin/env bash
# Creates .venv/ with a Python >= 3.12 (Django 6 needs it), installs beistand with its
# development extras and the front-end packages. Idempotent: re-running only updates.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
    local candidates=(python3.13 python3.12 python3)
    for c in "${candidates[@]}"; do
        if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            command -v "$c"; return 0
        fi
    done
    # pyenv-managed interpreters are not on PATH unless selected.
    for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
        if [ -x "$p" ]; then echo "$p"; return 0; fi
    done
    return 1
}

if [ ! -x .venv/bin/python ]; then
    PY="$(find_python)" || { echo "beistand needs Python >= 3.12 (Django 6). Please install it." >&2; exit 1; }
    echo "Creating .venv with $PY"
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"

if command -v npm >/dev/null 2>&1; then
    npm install --no-audit --no-fund --loglevel=error
else
    echo "npm is missing: the KERN UX styles cannot be installed (Debian: apt-get install npm)." >&2
    exit 1
fi
