"""The button readers on real device files: a pty pair for the serial button, and a virtual
input device (uinput) for evdev where this machine has /dev/uinput."""

import asyncio
import os

import pytest
from beistand_desktop.button import IGNORED_LINES, check_device, read_evdev, read_serial


def _uinput_problem():
    if not os.path.exists("/dev/uinput"):
        return ("/dev/uinput does not exist here (the kernel of this sandbox has no uinput "
                "module, see /proc/misc), so no virtual input device can be created")
    if not os.access("/dev/uinput", os.W_OK):
        return "/dev/uinput is not writable for this user"
    try:
        import evdev  # noqa: F401
    except ImportError:
        return "python-evdev is not installed (extra 'evdev')"
    return ""


async def _press_and_wait(reader_factory, press, count=1, timeout=5.0):
    presses = []
    ready = asyncio.Event()
    task = asyncio.create_task(reader_factory(lambda: presses.append(1), ready))
    await asyncio.wait_for(ready.wait(), timeout)
    await press(presses)
    for _ in range(int(timeout * 50)):
        if len(presses) >= count:
            break
        await asyncio.sleep(0.02)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return presses


def test_serial_button_on_a_pty_counts_presses_and_ignores_releases():
    master, slave = os.openpty()
    path = os.ttyname(slave)
    assert check_device(path, "serial")[0]

    async def press(presses):
        os.write(master, b"PRESS\nRELEASE\n0\n\n")   # one press, then ignored lines
        for _ in range(250):                            # the reader has counted it
            if presses:
                break
            await asyncio.sleep(0.02)
        os.write(master, b"\x01")                      # a bare byte without newline
    try:
        presses = asyncio.run(_press_and_wait(
            lambda cb, ready: read_serial(path, cb, ready=ready), press, count=2))
    finally:
        os.close(master)
        os.close(slave)
    assert len(presses) == 2
    assert b"RELEASE" in IGNORED_LINES


def test_missing_button_is_reported():
    ok, detail = check_device("/dev/input/by-id/gibt-es-nicht-event-kbd")
    assert not ok and "nicht gefunden" in detail


@pytest.mark.skipif(bool(_uinput_problem()), reason=_uinput_problem() or "uinput usable")
def test_evdev_button_on_a_virtual_device_is_grabbed_and_read():
    import evdev
    from evdev import ecodes

    ui = evdev.UInput({ecodes.EV_KEY: [ecodes.KEY_F13]}, name="beistand-test-button")
    try:
        async def press(_presses):
            ui.write(ecodes.EV_KEY, ecodes.KEY_F13, 1)
            ui.write(ecodes.EV_KEY, ecodes.KEY_F13, 0)
            ui.syn()
        presses = asyncio.run(_press_and_wait(
            lambda cb, ready: read_evdev(ui.device.path, cb, "KEY_F13", grab=True, ready=ready),
            press))
        assert presses == [1]
    finally:
        ui.close()


def test_button_service_sound_stops_when_its_person_answers_elsewhere(tmp_path):
    from beistand_desktop.button import ButtonDaemon
    from beistand_desktop.client import AlarmClient
    from beistand_desktop.outbox import Outbox
    from beistand_desktop.sound import AlarmSound, write_alarm_wav

    from .protocol_server import ProtocolServer
    from .qt_helpers import PLAYER
    from .test_core_logic import wait_for

    proto = ProtocolServer().start()
    wav = write_alarm_wav(tmp_path / "alarm.wav")
    sound = AlarmSound(wav, command=[*PLAYER, str(wav)], pause_s=0.05)
    client = AlarmClient(proto.url, proto.token, Outbox(tmp_path / "o"))
    daemon = ButtonDaemon(client, "/dev/null", "serial", "any", sound)
    client.start()
    try:
        assert wait_for(lambda: client.connection.connected)
        proto.push({"type": "alarm", "alarm_id": 5, "role": "receiver", "state": "triggered"})
        assert wait_for(lambda: sound.playing)
        proto.push({"type": "alarm_update", "alarm_id": 5, "kind": "response",
                    "state": "acknowledged", "responder": {"name": "Max Beispiel",
                                                           "response": "coming"}})
        assert wait_for(lambda: client.alarms[5].get("responders"))
        assert sound.playing                  # someone else: keeps ringing
        # a namesake of this workstation's person: names are not compared, it keeps ringing
        proto.push({"type": "alarm_update", "alarm_id": 5, "kind": "response",
                    "state": "acknowledged", "responder": {"name": "Erika Muster",
                                                           "response": "coming"}})
        assert wait_for(lambda: len(client.alarms[5]["responders"]) == 2)
        assert sound.playing
        # the server: this person answered on one of their devices
        proto.push({"type": "alarm_update", "alarm_id": 5, "kind": "own_answer",
                    "state": "acknowledged", "response": "coming",
                    "at": "2026-12-07T10:00:00Z"})
        assert wait_for(lambda: not sound.playing)
        assert daemon.presses == 0
    finally:
        sound.stop()
        client.stop()
        proto.stop()
