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
        if not path.exists():
            return cls()
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        known = {f.name: f.type for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        config = cls(**values)
        if config.confirmation not in CONFIRMATION_MODES:
            config.confirmation = "dialog"
        config.countdown_s = max(0, min(30, int(config.countdown_s)))
        config.volume = max(0, min(100, int(config.volume)))
        return config

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
