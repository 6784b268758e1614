"""The client's settings: one small TOML file (see paths.py for where it lives)."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

CONFIRMATION_MODES = ("dialog", "tooltip", "none")


@dataclass
class Config:
    server: str = ""                 # e.g. https://beistand.stadt.example
    hotkey: str = "Ctrl+Alt+H"
    hotkey_enabled: bool = True
    countdown_s: int = 0             # 0: the alarm goes out at once; up to 30 s with "Abbrechen"
    confirmation: str = "dialog"     # "dialog" (small "Alarm wurde ausgelöst"), "tooltip", "none"
    volume: int = 80                 # 0–100, receive-window sound
    sound_player: str = ""           # player command (WAV appended); "" = pw-play/paplay/aplay
    offline_warning_s: int = 60      # tray warns when disconnected longer than this
    template: str = "beistand"
    late_press_s: int = 30           # a press older than this is shown as late ("verspätet")
    status_window: bool = False      # also show the status window when there is a tray
    report_locked: bool = True       # tell the server while this PC's screen is locked
    # Button daemon
    button_device: str = ""          # /dev/input/by-id/… (evdev) or /dev/ttyACM0 / COM3 (serial)
    button_kind: str = "auto"        # "evdev", "serial" or "auto" (by the path)
    button_key: str = "any"          # evdev key name (e.g. KEY_F13) or "any"
    # The daemon itself plays the alarm sound (ALSA) for incoming alarms: only for a PC that
    # nobody is logged in to; with a user session the tray app there plays it (README).
    button_sound: bool = False

    @classmethod
    def load(cls, path: Path) -> Config:
        """The settings; what cannot be read is left at its default and named in
        ``config.problems`` (German, for the user) - never an exception: a tray that ends at
        start with a traceback nobody sees receives no alarms, and nobody knows."""
        config = cls()
        config.problems = []
        if not path.exists():
            return config
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            # Read line by line: a key set twice (a line appended with `tee -a` to the file
            # the client wrote, as the README's service set-up once did) - the last one
            # counts; a line that cannot be read is left out and named.
            data = {}
            for number, line in enumerate(text.splitlines(), 1):
                stripped = line.strip()
                if not stripped or stripped.startswith("#"):
                    continue
                try:
                    data.update(tomllib.loads(stripped))
                except tomllib.TOMLDecodeError:
                    config.problems.append(f"Zeile {number} nicht lesbar: {stripped[:80]}")
        for field in fields(cls):
            if field.name not in data:
                continue
            default, value = getattr(config, field.name), data[field.name]
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            else:
                ok = isinstance(value, str)
            if ok:
                setattr(config, field.name, value)
            else:
                config.problems.append(f"{field.name} = {value!r} ist kein gültiger Wert "
                                       f"(verwendet: {default!r})")
        if config.confirmation not in CONFIRMATION_MODES:
            config.confirmation = "dialog"
        config.countdown_s = max(0, min(30, config.countdown_s))
        config.volume = max(0, min(100, config.volume))
        return config

    def problems_text(self, path: Path) -> str:
        """One warning line for the user, "" when the file was read in full."""
        problems = getattr(self, "problems", [])
        if not problems:
            return ""
        return (f"Einstellungen teilweise nicht lesbar ({path}): " + "; ".join(problems[:3])
                + (" …" if len(problems) > 3 else "") + ". Dafür gelten die Standardwerte.")

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["# beistand-desktop settings (written by the client)"]
        for key, value in asdict(self).items():
            lines.append(f"{key} = {_toml_value(value)}")
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(path)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
