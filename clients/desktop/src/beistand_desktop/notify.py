"""A desktop notification from the button daemon (a system service, no GUI of its own).

Linux: ``notify-send -u critical`` into every logged-in graphical session (via each session's
D-Bus address). GNOME and KDE show critical notifications on the lock screen, without content
if the user chose "hide content on lock screen". Windows: a service cannot show UI in a user
session (session 0 isolation); the tray app in the session shows the alarm instead, and the
daemon's sound plays regardless.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)


def _session_buses() -> list[tuple[str, dict]]:
    """(uid, env) of each user with a D-Bus session under /run/user."""
    out = []
    base = Path("/run/user")
    if not base.is_dir():
        return out
    for entry in base.iterdir():
        bus = entry / "bus"
        if bus.exists():
            out.append((entry.name, {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={bus}"}))
    return out


def notify_sessions(title: str, body: str) -> int:
    """Sends the notification to every graphical session; returns how many took it."""
    exe = shutil.which("notify-send")
    if exe is None:
        return 0
    sent = 0
    targets = _session_buses()
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        targets.append((str(os.getuid()), {}))
    for uid, extra in targets:
        command = [exe, "-u", "critical", "-a", "beistand", title, body]
        if extra and os.getuid() == 0 and uid != "0" and shutil.which("setpriv"):
            command = ["setpriv", f"--reuid={uid}", "--regid=" + uid, "--clear-groups",
                       *command]
        try:
            result = subprocess.run(command, env={**os.environ, **extra}, timeout=5,
                                    capture_output=True, check=False)
            sent += result.returncode == 0
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("notify-send failed: %s", exc)
    return sent
