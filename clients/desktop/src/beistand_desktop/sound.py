"""The alarm sound: a WAV the client writes itself, played repeatedly until acknowledged.

No audio library is needed: the WAV is generated with the standard library (two-tone signal,
volume applied to the samples), and played by the platform's own player – ``winsound`` on
Windows, ``afplay`` on macOS, ``pw-play``/``paplay``/``aplay`` on Linux. A system service (the
button daemon) plays through ALSA (``aplay``), which works without a logged-in session.
"""

from __future__ import annotations

import logging
import math
import shutil
import struct
import subprocess
import sys
import threading
import wave
from pathlib import Path

log = logging.getLogger(__name__)
RATE = 22050


def write_alarm_wav(path: Path, volume: int = 80, seconds: float = 1.6) -> Path:
    """Two alternating tones (960 / 770 Hz, 0.2 s each), like a hi-lo siren."""
    amplitude = int(32767 * max(0, min(100, volume)) / 100 * 0.9)
    frames = bytearray()
    total = int(RATE * seconds)
    for n in range(total):
        freq = 960.0 if (n // int(RATE * 0.2)) % 2 == 0 else 770.0
        # short fade at tone edges avoids clicks
        pos = n % int(RATE * 0.2)
        edge = min(1.0, pos / 200, (int(RATE * 0.2) - pos) / 200)
        frames += struct.pack("<h", int(amplitude * edge * math.sin(2 * math.pi * freq * n / RATE)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(bytes(frames))
    return path


def player_command(path: Path) -> list[str] | None:
    if sys.platform == "darwin":
        return ["afplay", str(path)]
    for player in ("pw-play", "paplay", "aplay"):
        exe = shutil.which(player)
        if exe:
            return [exe, "-q", str(path)] if player == "aplay" else [exe, str(path)]
    return None


class AlarmSound:
    """Plays ``path`` again and again (with a short pause) until ``stop()``."""

    def __init__(self, path: Path, command: list[str] | None = None, pause_s: float = 0.4,
                 max_repeats: int = 600):
        self.path = path
        self.command = command
        self.pause_s = pause_s
        self.max_repeats = max_repeats
        self.plays = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def playing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        if self.playing:
            return True
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="alarm-sound", daemon=True)
        self._thread.start()
        return True

    def _play_once(self) -> bool:
        if sys.platform == "win32" and self.command is None:
            import winsound

            winsound.PlaySound(str(self.path), winsound.SND_FILENAME)
            return True
        command = self.command or player_command(self.path)
        if command is None:
            log.warning("no audio player found (pw-play, paplay, aplay); alarm is silent")
            return False
        try:
            self._proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
            self._proc.wait()
        except OSError as exc:
            log.warning("audio player failed: %s", exc)
            return False
        return self._proc.returncode == 0

    def _loop(self) -> None:
        while not self._stop.is_set() and self.plays < self.max_repeats:
            ok = self._play_once()
            self.plays += 1
            if not ok and self.plays >= 3:
                return  # no working audio output; the window still shows the alarm
            self._stop.wait(self.pause_s)

    def stop(self) -> None:
        self._stop.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
        if self._thread is not None:
            self._thread.join(3)
