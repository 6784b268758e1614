"""One tray client per user and seat: a lock file in the user's state directory.

Two copies (autostart plus a manual start) would turn one press into two alarms and ring
twice. The lock is an OS file lock (``flock`` / ``msvcrt.locking``), so it goes away with the
process, also after a crash; the file names the holder's PID for the message."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def seat_name() -> str:
    """The seat: systemd-logind's seat, else the display the session runs on."""
    seat = os.environ.get("XDG_SEAT") or os.environ.get("DISPLAY") \
        or os.environ.get("WAYLAND_DISPLAY") or "console"
    return "".join(c if c.isalnum() else "_" for c in seat)[:40]


class AlreadyRunning(Exception):
    def __init__(self, pid: str):
        super().__init__(pid)
        self.pid = pid


class InstanceLock:
    def __init__(self, state_dir: Path, seat: str | None = None):
        self.path = state_dir / f"tray-{seat or seat_name()}.lock"
        self._fh = None

    def acquire(self) -> InstanceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held while running
        try:
            if sys.platform == "win32":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            pid = fh.read().strip() or "?"
            fh.close()
            raise AlreadyRunning(pid) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
