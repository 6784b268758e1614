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
    await press()
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

    async def press():
        os.write(master, b"PRESS\nRELEASE\n0\n\n")   # one press, then ignored lines
        await asyncio.sleep(0.3)
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
        async def press():
            ui.write(ecodes.EV_KEY, ecodes.KEY_F13, 1)
            ui.write(ecodes.EV_KEY, ecodes.KEY_F13, 0)
            ui.syn()
        presses = asyncio.run(_press_and_wait(
            lambda cb, ready: read_evdev(ui.device.path, cb, "KEY_F13", grab=True, ready=ready),
            press))
        assert presses == [1]
    finally:
        ui.close()
