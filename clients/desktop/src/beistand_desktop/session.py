"""Is this PC's screen locked? (reported to the server, so supervision can see that an alarm
window on this PC would not be seen right now)

Linux: systemd-logind's ``LockedHint`` of the session (GNOME, KDE and most lock screens set it).
Elsewhere, or when it cannot be asked: unknown (None), and nothing is reported."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def screen_locked() -> bool | None:
    if not sys.platform.startswith("linux") or shutil.which("loginctl") is None:
        return None
    session = os.environ.get("XDG_SESSION_ID") or "auto"
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments
            ["loginctl", "show-session", session, "-p", "LockedHint", "--value"],  # noqa: S607
            capture_output=True, text=True, timeout=3, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = result.stdout.strip()
    return {"yes": True, "no": False}.get(value) if result.returncode == 0 else None
