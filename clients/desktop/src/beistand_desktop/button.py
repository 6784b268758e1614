"""The hardware alarm button daemon (``beistand-desktop button``).

Runs as a system service, outside any user session, so it keeps working while the screen is
locked or nobody is logged in. It reads a dedicated button and raises the alarm through the
device trigger URL with the workstation's device token:

* **evdev** (Linux): a USB/Bluetooth button that appears as an input device
  (``/dev/input/by-id/…-event-kbd``). The daemon *grabs* the device (``EVIOCGRAB``), so its key
  presses never reach the desktop session – a "panic button" that types a key would otherwise
  do something random in the focused program, and nothing at all on a locked screen.
* **serial / USB-CDC**: a button that sends a line (or a byte) per press on
  ``/dev/ttyACM0`` / ``COM3``. Lines ``0``, ``UP``, ``RELEASE`` and empty lines are ignored.

The daemon raises; it does not show. A system service cannot reach a user's desktop session:
it may not post notifications into another user's session bus and cannot play through the
session's PipeWire/PulseAudio. So an alarm reaches the people at this PC the same way as
everyone else's – through the server to the **session agent**, the tray app (or its status
window) that autostarts in each user's session: it plays the sound through the session's sound
server, posts a critical notification while the screen is locked (shown on the lock screen),
withdraws it at the all-clear, and falls silent when the person answered on any device
(``own_answer``). Only on a PC that nobody is logged in to (``button_sound = true`` or
``--sound``) does the daemon play the sound itself, through ALSA, until the all-clear or an
answer of the workstation's person anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from .client import AlarmClient, Listener, describe_alarm
from .sound import AlarmSound

log = logging.getLogger(__name__)
IGNORED_LINES = {b"", b"0", b"UP", b"RELEASE"}


class ButtonError(Exception):
    pass


def detect_kind(path: str, kind: str = "auto") -> str:
    if kind in ("evdev", "serial"):
        return kind
    return "evdev" if path.startswith("/dev/input/") else "serial"


def check_device(path: str, kind: str = "auto") -> tuple[bool, str]:
    """Is the button there and readable? (for the self-test)"""
    if not path:
        return True, "kein Alarmtaster konfiguriert"
    if not Path(path).exists() and not path.upper().startswith("COM"):
        return False, f"Alarmtaster {path} nicht gefunden"
    kind = detect_kind(path, kind)
    try:
        if kind == "evdev":
            import evdev

            device = evdev.InputDevice(path)
            name = device.name
            device.close()
            return True, f"Alarmtaster „{name}“ ({path}) bereit"
        import serial

        with serial.Serial(path, timeout=0):
            pass
        return True, f"Alarmtaster (seriell) {path} bereit"
    except (OSError, ImportError) as exc:
        return False, f"Alarmtaster {path} nicht lesbar: {exc}"


class Debounce:
    def __init__(self, seconds: float = 2.0):
        self.seconds = seconds
        self._last = -1e9

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.seconds:
            return False
        self._last = now
        return True


async def read_evdev(path: str, on_press: Callable[[], None], key: str = "any",
                     grab: bool = True, ready: asyncio.Event | None = None) -> None:
    import evdev
    from evdev import ecodes

    device = evdev.InputDevice(path)
    wanted = None if key in ("", "any") else ecodes.ecodes[key]
    if grab:
        device.grab()  # the session never sees this device's keys
    log.info("reading button %s (%s), grabbed=%s", path, device.name, grab)
    if ready is not None:
        ready.set()
    try:
        async for event in device.async_read_loop():
            if event.type == ecodes.EV_KEY and event.value == 1 and \
                    (wanted is None or event.code == wanted):
                on_press()
    finally:
        if grab:
            with contextlib.suppress(OSError):
                device.ungrab()
        device.close()


async def read_serial(path: str, on_press: Callable[[], None], baudrate: int = 9600,
                      ready: asyncio.Event | None = None) -> None:
    import serial

    port = serial.Serial(path, baudrate=baudrate, timeout=0.2)
    log.info("reading serial button %s", path)
    if ready is not None:
        ready.set()
    loop = asyncio.get_running_loop()
    buffer = b""
    try:
        while True:
            chunk = await loop.run_in_executor(None, port.read, 64)
            if not chunk:
                # a button that sends bare bytes without newline: a pause ends the press
                if buffer:
                    chunk, buffer = buffer + b"\n", b""
                else:
                    continue
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip().upper() not in IGNORED_LINES:
                    on_press()
    finally:
        port.close()


class ButtonDaemon:
    def __init__(self, client: AlarmClient, device: str, kind: str = "auto", key: str = "any",
                 sound: AlarmSound | None = None, grab: bool = True):
        self.client = client
        self.device = device
        self.kind = detect_kind(device, kind)
        self.key = key
        self.sound = sound
        self.grab = grab
        self.presses = 0
        self.debounce = Debounce()
        self.ready = asyncio.Event()
        client.listeners.append(Listener(on_alarm=self._on_alarm, on_update=self._on_update))

    def press(self) -> None:
        if not self.debounce():
            log.info("button press ignored (debounce)")
            return
        self.presses += 1
        self.client.trigger(source="button")

    def _on_alarm(self, alarm: dict) -> None:
        if alarm.get("role") == "sender" or alarm.get("state") in ("resolved", "cancelled"):
            return
        log.warning("ALARM received: %s", describe_alarm(alarm))
        if self.sound is not None:
            self.sound.start()

    def _ringing(self) -> bool:
        return any(a.get("role") == "receiver" and not a.get("closed")
                   and not a.get("own_answer") for a in self.client.alarms.values())

    def _on_update(self, frame: dict, alarm: dict) -> None:
        if frame.get("kind") == "own_answer":
            # the person this workstation belongs to answered (tray, phone): quiet at once
            log.info("alarm %s answered by this workstation's person: sound off",
                     frame.get("alarm_id"))
        if self.sound is not None and self.sound.playing and not self._ringing():
            self.sound.stop()
            log.info("alarm sound stopped")

    async def run(self) -> None:
        if self.kind == "evdev":
            reader = read_evdev(self.device, self.press, self.key, self.grab, self.ready)
        else:
            reader = read_serial(self.device, self.press, ready=self.ready)
        await asyncio.gather(self.client.run(), reader)
