"""The alarm sound: a WAV the client writes itself, played repeatedly until acknowledged.

No audio library is needed: the WAV is generated with the standard library (two-tone signal,
volume applied to the samples), and played by the platform's own player – ``winsound`` on
Windows, ``afplay`` on macOS, ``pw-play``/``paplay``/``aplay`` on Linux, chosen by which sound
server runs. Every play's exit status is checked: a failure is reported (``on_failure``) and
retried until the alarm is answered; ``check_sound`` is the self-test (start-up and on demand).
"""

from __future__ import annotations

import logging
import math
import os
import shlex
import shutil
import struct
import subprocess
import sys
import threading
import wave
from collections.abc import Callable
from dataclasses import dataclass
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


_written: dict[tuple[str, int, float], int] = {}
_written_lock = threading.Lock()


def alarm_wav(path: Path, volume: int = 80, seconds: float = 1.6) -> Path:
    """The alarm sound at ``path``, written only when missing or changed (volume): generating
    it in Python took 0.4-0.5 s on a loaded 2-core machine, and that was on the way of every
    incoming alarm to its window."""
    key = (str(path), int(volume), float(seconds))
    with _written_lock:
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            mtime = None
        if mtime is None or _written.get(key) != mtime:
            write_alarm_wav(path, volume, seconds)
            for other in [k for k in _written if k[0] == key[0]]:
                del _written[other]
            _written[key] = path.stat().st_mtime_ns
    return path


# The players, in order of preference, and how to tell that their sound server runs: PipeWire
# (pw-play, Debian package pipewire-bin), PulseAudio or PipeWire's Pulse server (paplay,
# pulseaudio-utils), plain ALSA (aplay, alsa-utils; works without a desktop session).
PLAYERS = ("pw-play", "paplay", "aplay")
PACKAGES = {"pw-play": "pipewire-bin", "paplay": "pulseaudio-utils", "aplay": "alsa-utils"}


def _runtime_dir() -> Path | None:
    value = os.environ.get("XDG_RUNTIME_DIR")
    return Path(value) if value else None


def _server_running(player: str) -> bool:
    runtime = _runtime_dir()
    if player == "pw-play":
        return bool(os.environ.get("PIPEWIRE_REMOTE")) or (
            runtime is not None and (runtime / "pipewire-0").exists())
    if player == "paplay":
        return bool(os.environ.get("PULSE_SERVER")) or (
            runtime is not None and (runtime / "pulse" / "native").exists())
    return True  # aplay talks to the sound card (or ALSA's default device) directly


def player_command(path: Path) -> list[str] | None:
    """The player for what this system has: the first installed player whose sound server
    runs (PipeWire, then PulseAudio), else ALSA's aplay; None if there is none at all."""
    if sys.platform == "darwin":
        return ["afplay", str(path)]
    installed = [(p, shutil.which(p)) for p in PLAYERS]
    installed = [(p, exe) for p, exe in installed if exe]
    for player, exe in installed:
        if _server_running(player):
            return [exe, "-q", str(path)] if player == "aplay" else [exe, str(path)]
    if installed:
        player, exe = installed[-1]
        return [exe, "-q", str(path)] if player == "aplay" else [exe, str(path)]
    return None


NO_PLAYER = ("kein Abspielprogramm gefunden (pw-play, paplay oder aplay; Pakete pipewire-bin, "
             "pulseaudio-utils oder alsa-utils)")


@dataclass
class SoundCheck:
    ok: bool
    detail: str


def play_once(path: Path, command: list[str] | None = None,
              timeout: float = 15.0) -> SoundCheck:
    """Plays ``path`` once and checks the player's exit status."""
    if sys.platform == "win32" and command is None:
        import winsound

        try:
            winsound.PlaySound(str(path), winsound.SND_FILENAME)
        except RuntimeError as exc:
            return SoundCheck(False, f"Windows-Tonausgabe fehlgeschlagen: {exc}")
        return SoundCheck(True, "Windows-Tonausgabe")
    command = command or player_command(path)
    if command is None:
        return SoundCheck(False, NO_PLAYER)
    name = Path(command[0]).name
    try:
        result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SoundCheck(False, f"{name} nicht ausführbar: {exc}")
    if result.returncode != 0:
        error = result.stderr.decode("utf-8", "replace").strip().splitlines()
        return SoundCheck(False, f"{name} meldet Fehler {result.returncode}"
                                 + (f": {error[-1][:160]}" if error else ""))
    return SoundCheck(True, f"abgespielt mit {name}")


def configured_command(player: str, path: Path) -> list[str] | None:
    """The ``sound_player`` setting (a command line; the WAV file is appended), or None."""
    return [*shlex.split(player), str(path)] if player.strip() else None


def check_sound(state_dir: Path, command: list[str] | None = None,
                player: str = "") -> SoundCheck:
    """The sound self-test: a short, quiet tone, played with the alarm's player (``command``
    as is, else the ``sound_player`` setting, else the system's player)."""
    path = write_alarm_wav(state_dir / "soundcheck.wav", volume=8, seconds=0.4)
    return play_once(path, command or configured_command(player, path))


class AlarmSound:
    """Plays ``path`` again and again (with a short pause) until ``stop()``.

    A failing player is never the end: it is retried (every ``retry_s`` at most) for as long
    as the alarm is not answered, and ``on_failure(detail)`` / ``on_ok()`` report the change
    (the tray shows "ohne Ton" and tells the server)."""

    def __init__(self, path: Path, command: list[str] | None = None, pause_s: float = 0.4,
                 max_repeats: int | None = None, on_failure: Callable[[str], None] | None = None,
                 on_ok: Callable[[], None] | None = None, retry_s: float = 5.0,
                 play_timeout_s: float = 10.0):
        self.path = path
        self.command = command
        self.pause_s = pause_s
        # None: until ``stop()`` (the answer, the window closed). A limit used to end the sound
        # of an unanswered alarm after about 20 minutes, silently (found by the issue 21
        # review); it remains for tests only.
        self.max_repeats = max_repeats
        self.on_failure = on_failure
        self.on_ok = on_ok
        self.retry_s = retry_s
        # a player that does not end (a hung sound server: paplay/pw-play wait for it for
        # ever) plays nothing and reported nothing - it is ended and counts as a failure
        self.play_timeout_s = play_timeout_s
        self.plays = 0
        self.failures = 0
        self.last_error = ""
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

    def _play_once(self) -> SoundCheck:
        if sys.platform == "win32" and self.command is None:
            return play_once(self.path)
        command = self.command or player_command(self.path)
        if command is None:
            return SoundCheck(False, NO_PLAYER)
        name = Path(command[0]).name
        try:
            self._proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE)
            _out, err = self._proc.communicate(timeout=self.play_timeout_s)
        except OSError as exc:
            return SoundCheck(False, f"{name} nicht ausführbar: {exc}")
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.communicate()
            if self._stop.is_set():
                return SoundCheck(True, name)
            return SoundCheck(False, f"{name} hängt (nach {self.play_timeout_s:g} s nicht "
                                     "beendet, beendet und neu gestartet)")
        if self._proc.returncode != 0 and not self._stop.is_set():
            lines = (err or b"").decode("utf-8", "replace").strip().splitlines()
            return SoundCheck(False, f"{name} meldet Fehler {self._proc.returncode}"
                                     + (f": {lines[-1][:160]}" if lines else ""))
        return SoundCheck(True, name)

    def _loop(self) -> None:
        failing = 0
        while not self._stop.is_set() and (self.max_repeats is None
                                             or self.plays < self.max_repeats):
            result = self._play_once()
            self.plays += 1
            if self._stop.is_set():
                return
            if result.ok:
                if failing and self.on_ok is not None:
                    self.on_ok()
                failing = 0
                self._stop.wait(self.pause_s)
                continue
            failing += 1
            self.failures += 1
            self.last_error = result.detail
            log.warning("alarm sound failed (%d): %s", failing, result.detail)
            if failing == 1 and self.on_failure is not None:
                self.on_failure(result.detail)
            # retry until answered; quickly at first, then every retry_s
            self._stop.wait(min(self.retry_s, self.pause_s * 2 ** failing))

    def stop(self) -> None:
        self._stop.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
        if self._thread is not None:
            self._thread.join(3)
