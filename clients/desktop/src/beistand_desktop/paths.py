"""Where the client keeps its files, per operating system (platformdirs).

* config (``config.toml``): Linux ``~/.config/beistand-desktop/``,
  Windows ``%LOCALAPPDATA%\\beistand\\beistand-desktop\\``
* state (outbox, last event, token file): Linux ``~/.local/state/beistand-desktop/``,
  Windows ``%LOCALAPPDATA%\\beistand\\beistand-desktop\\``
* logs: Linux ``~/.local/state/beistand-desktop/log/``,
  Windows ``%LOCALAPPDATA%\\beistand\\beistand-desktop\\Logs\\``

The button daemon runs as a system service; it is started with ``--home`` (e.g.
``/var/lib/beistand-desktop``) and then keeps config, state and logs below that directory.
``BEISTAND_DESKTOP_HOME`` does the same for every command (used by the tests).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP = "beistand-desktop"
AUTHOR = "beistand"


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    state_dir: Path
    log_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def outbox_dir(self) -> Path:
        return self.state_dir / "outbox"

    @property
    def cursor_file(self) -> Path:
        return self.state_dir / "last_event_id"

    @property
    def token_file(self) -> Path:
        return self.state_dir / "token"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "beistand-desktop.log"

    @property
    def sound_file(self) -> Path:
        return self.state_dir / "alarm.wav"

    def create(self) -> Paths:
        for directory in (self.config_dir, self.state_dir, self.log_dir, self.outbox_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return self


def default_paths(home: str | os.PathLike | None = None) -> Paths:
    home = home or os.environ.get("BEISTAND_DESKTOP_HOME")
    if home:
        base = Path(home)
        return Paths(base / "config", base / "state", base / "log")
    return Paths(
        Path(platformdirs.user_config_dir(APP, AUTHOR)),
        Path(platformdirs.user_state_dir(APP, AUTHOR)),
        Path(platformdirs.user_log_dir(APP, AUTHOR)),
    )
