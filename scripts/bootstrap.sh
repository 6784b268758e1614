#!/usr/bin/env bash
# Creates .venv/ with a Python >= 3.12 (Django 6 needs it), installs beistand with its
# development extras and the front-end packages (KERN UX, htmx). Idempotent: re-running only
# updates what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }
fail() { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

find_python() {
    local c p
    for c in python3.13 python3.12 python3; do
        # pyenv shims exist for every installed version but fail unless it is selected, so each
        # candidate is run, not just looked up.
        if command -v "$c" >/dev/null 2>&1 \
                && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            "$c" -c 'import sys; print(sys.executable)'; return 0
        fi
    done
    for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
        if [ -x "$p" ]; then echo "$p"; return 0; fi
    done
    return 1
}

# pip repeats a warning per unreachable local index location on some machines; it says nothing
# about beistand, so it is dropped (errors still show, and pip's exit status still counts).
quiet_pip() {
    .venv/bin/python -m pip "$@" 2>&1 | { grep -v -E "Location '.*' is ignored" || true; }
}

if [ ! -x .venv/bin/python ]; then
    PY="$(find_python)" || fail "beistand needs Python >= 3.12 (Django 6); none found on PATH or in pyenv."
    say "Creating .venv with $PY"
    "$PY" -m venv .venv
fi
say "Installing beistand and its Python dependencies into .venv"
quiet_pip install --quiet --upgrade pip
quiet_pip install --quiet -e ".[dev]"
# The desktop alarm client (clients/desktop) with its GUI, hotkey and button extras; tests/desktop use it.
quiet_pip install --quiet -e "clients/desktop[all]"

if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "Installing npm (Debian package) for the KERN UX design system"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
    else
        fail "npm is missing: the KERN UX styles cannot be installed (Debian: sudo apt-get install npm)."
    fi
fi
say "Installing front-end packages (npm)"
npm install --no-audit --no-fund --loglevel=error
