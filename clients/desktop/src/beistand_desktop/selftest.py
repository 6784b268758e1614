"""Self-test: connection, hotkey, button, and a Probealarm that must come back.

``beistand-desktop --selftest --server URL --token T`` prints one line per check and exits 0
when all required checks passed, 1 otherwise. The Probealarm (template ``probealarm``) goes only
to the sender's own clients; the test waits for it to arrive as an ``alarm`` event with
``role: sender`` and ``template.test: true``.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .button import check_device
from .client import AlarmClient, Listener
from .connection import Status
from .cursor import EventCursor
from .hotkey import HotkeyError, HotkeyListener
from .outbox import Outbox
from .sender import SendState


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


@dataclass
class SelftestResult:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks if c.required)

    def lines(self) -> list[str]:
        out = []
        for c in self.checks:
            mark = "OK    " if c.ok else ("FEHLER" if c.required else "HINWEIS")
            out.append(f"[{mark}] {c.name}: {c.detail}")
        out.append("Selbsttest bestanden." if self.ok else "Selbsttest FEHLGESCHLAGEN.")
        return out


def local_checks(state_dir: Path, *, sound: bool = True, gui: bool = True,
                 sound_command: list[str] | None = None, player: str = "") -> list[Check]:
    """What this PC itself needs: the alarm sound (played, exit status checked), the system
    libraries of the GUI, the program on the PATH."""
    from .sound import check_sound
    from .system import gui_packages_problem, on_path_problem

    checks = []
    if sound:
        played = check_sound(state_dir, sound_command, player)
        checks.append(Check("Alarmton", played.ok, played.detail if played.ok else
                            f"OHNE TON – {played.detail}"))
    if gui:
        problem = gui_packages_problem()
        checks.append(Check("Systempakete", not problem,
                            problem or "alle Bibliotheken der Oberfläche vorhanden"))
    problem = on_path_problem()
    checks.append(Check("Programmpfad", not problem, problem or "beistand-desktop im PATH",
                        required=False))
    return checks


async def run_selftest(server: str, token: str, *, hotkey: str = "", button_device: str = "",
                       button_kind: str = "auto", timeout: float = 15.0,
                       state_dir: Path | None = None,
                       check_hotkey_registration: bool = True,
                       local: list[Check] | None = None) -> SelftestResult:
    result = SelftestResult(list(local or []))
    # the self-test's own outbox and cursor: it must not swallow the user's pending presses
    workdir = Path(tempfile.mkdtemp(prefix="beistand-selftest-", dir=state_dir))
    outbox = Outbox(workdir / "outbox")
    arrived: asyncio.Future = asyncio.get_running_loop().create_future()
    connected = asyncio.Event()

    def on_alarm(frame):
        template = frame.get("template") or {}
        if frame.get("role") == "sender" and template.get("test") and not arrived.done():
            arrived.set_result(frame)

    def on_status(status, detail):
        if status == Status.CONNECTED:
            connected.set()

    # Resume after the newest stored event: only what happens now counts.
    client = AlarmClient(server, token, outbox, EventCursor(),
                         listeners=[Listener(on_alarm=on_alarm, on_status=on_status)])
    task = asyncio.create_task(client.run())
    try:
        started = time.monotonic()
        try:
            await asyncio.wait_for(connected.wait(), timeout)
            hello = client.connection.hello
            result.checks.append(Check("Verbindung", True,
                                       f"verbunden mit {server} als „{hello.get('name', '?')}“ "
                                       f"({(time.monotonic() - started) * 1000:.0f} ms)"))
        except TimeoutError:
            result.checks.append(Check("Verbindung", False,
                                       f"keine Verbindung zu {server} ({client.status})"))
            return result

        if hotkey:
            try:
                listener = HotkeyListener(hotkey, lambda: None)
                status = listener.start() if check_hotkey_registration else None
                listener.stop()
                if status is None:
                    result.checks.append(Check("Tastenkürzel", True, f"{hotkey} gültig", False))
                else:
                    result.checks.append(Check("Tastenkürzel", status.active, status.reason,
                                               required=False))
            except HotkeyError as exc:
                result.checks.append(Check("Tastenkürzel", False, str(exc)))
        if button_device:
            ok, detail = check_device(button_device, button_kind)
            result.checks.append(Check("Alarmtaster", ok, detail))

        # The Probealarm must not match an old event: skip everything stored before now.
        client.cursor.last_event_id = max(client.cursor.last_event_id,
                                          int(client.connection.hello.get("last_event_id") or 0))
        sent_at = time.monotonic()
        item = client.trigger(template="probealarm", source="desktop")
        send = None
        for _ in range(int(timeout * 10)):
            send = outbox.get(item.client_id)
            if send is not None and (send.sent_at or not outbox.pending()):
                break  # confirmed, or refused for good
            await asyncio.sleep(0.1)
        if send is None or not send.sent_at:
            detail = send.last_error if send else "nicht gesendet"
            result.checks.append(Check("Probealarm senden", False, detail or "keine Antwort"))
            return result
        if send.response.get("deduplicated") or send.response.get("template") not in (
                None, "probealarm"):
            result.checks.append(Check("Probealarm senden", False,
                                       f"Server gab den laufenden Alarm {send.alarm_id} zurück "
                                       "(erst Entwarnung geben, dann erneut testen)"))
            return result
        result.checks.append(Check("Probealarm senden", True,
                                   f"vom Server bestätigt (Alarm {send.alarm_id}, "
                                   f"{(time.monotonic() - sent_at) * 1000:.0f} ms)"))
        try:
            frame = await asyncio.wait_for(arrived, timeout)
            result.checks.append(Check("Probealarm empfangen", True,
                                       f"zurück über WebSocket (Alarm {frame.get('alarm_id')}, "
                                       f"{(time.monotonic() - sent_at) * 1000:.0f} ms)"))
            with contextlib.suppress(Exception):  # a user token may close its Probealarm
                await client._command_or_http({"type": "resolve", "alarm_id": send.alarm_id},
                                              f"/api/v1/alarms/{send.alarm_id}/resolve", {})
        except TimeoutError:
            result.checks.append(Check("Probealarm empfangen", False,
                                       f"nicht innerhalb von {timeout:.0f} s zurückgekommen"))
        return result
    finally:
        client.connection.stop()
        client.sender.stop()
        await asyncio.gather(task, return_exceptions=True)


__all__ = ["Check", "SelftestResult", "SendState", "run_selftest"]
