"""The global hotkey (default Ctrl+Alt+H) through pynput.

Where it works: Windows (a low-level keyboard hook) and Linux under X11 (XRecord), while the user
is logged in and the screen is unlocked. Where it cannot work:

* **locked screen** (Windows and Linux): the lock screen takes the keyboard away from user
  programs – use the hardware button (``beistand-desktop button``) there;
* **Wayland** sessions: programs may not read global keys. Bind the key in the desktop's own
  shortcut settings (GNOME: Settings → Keyboard → Custom Shortcuts; KDE: System Settings →
  Shortcuts) to the command ``beistand-desktop trigger --source hotkey``;
* macOS: only after granting "Input Monitoring" to the Python/terminal app.

``HotkeyListener.start()`` reports which case applies; the self-test prints it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)
MODIFIERS = {"ctrl": "<ctrl>", "strg": "<ctrl>", "control": "<ctrl>", "alt": "<alt>",
             "shift": "<shift>", "umschalt": "<shift>", "super": "<cmd>", "win": "<cmd>",
             "cmd": "<cmd>", "altgr": "<alt_gr>"}


class HotkeyError(ValueError):
    pass


def to_pynput(spec: str) -> str:
    """``"Ctrl+Alt+H"`` → ``"<ctrl>+<alt>+h"``; needs at least one modifier and one key."""
    parts = [p.strip().lower() for p in (spec or "").split("+") if p.strip()]
    mods = [MODIFIERS[p] for p in parts if p in MODIFIERS]
    keys = [p for p in parts if p not in MODIFIERS]
    if not mods or len(keys) != 1:
        raise HotkeyError(f"Ungültige Tastenkombination „{spec}“ (z. B. Strg+Alt+H).")
    key = keys[0]
    if len(key) > 1:
        if not (key.startswith("f") and key[1:].isdigit()):
            raise HotkeyError(f"Unbekannte Taste „{key}“.")
        key = f"<{key}>"
    return "+".join([*dict.fromkeys(mods), key])


@dataclass
class HotkeyStatus:
    active: bool
    reason: str


def environment_problem() -> str:
    """Why a global hotkey cannot be registered here, or '' if it may."""
    if sys.platform.startswith("linux"):
        if os.environ.get("WAYLAND_DISPLAY") or os.environ.get("XDG_SESSION_TYPE") == "wayland":
            return ("Wayland-Sitzung: globale Tastenkürzel sind für Programme gesperrt. Bitte in "
                    "den Systemeinstellungen ein Kürzel für „beistand-desktop trigger --source "
                    "hotkey“ anlegen.")
        if not os.environ.get("DISPLAY"):
            return "Keine X11-Anzeige (DISPLAY fehlt): Tastenkürzel nicht möglich."
    return ""


class HotkeyListener:
    def __init__(self, spec: str, callback: Callable[[], None]):
        self.spec = spec
        self.combo = to_pynput(spec)
        self.callback = callback
        self._listener = None
        self.status = HotkeyStatus(False, "nicht gestartet")

    def fire(self) -> None:
        """What a key press does (also used by the tests to simulate the press)."""
        log.info("hotkey %s pressed", self.spec)
        self.callback()

    def start(self) -> HotkeyStatus:
        problem = environment_problem()
        if problem:
            self.status = HotkeyStatus(False, problem)
            return self.status
        try:
            from pynput import keyboard
        except Exception as exc:
            self.status = HotkeyStatus(False, f"pynput nicht verfügbar ({exc}); "
                                              "pip install 'beistand-desktop[hotkey]'")
            return self.status
        try:
            self._listener = keyboard.GlobalHotKeys({self.combo: self.fire})
            self._listener.start()
            self._listener.wait()
        except Exception as exc:
            self.status = HotkeyStatus(False, f"Tastenkürzel nicht registrierbar: {exc}")
            return self.status
        self.status = HotkeyStatus(True, f"{self.spec} aktiv")
        return self.status

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
