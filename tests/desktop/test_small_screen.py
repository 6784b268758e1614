"""The receive window on small screens (issue 21 review: 922 px tall on a 900 px screen).

Each size runs in its own process on a Qt offscreen screen of that size
(``QT_QPA_PLATFORM=offscreen:configfile=…``, a JSON list of screens), with long instructions, a
long thread and three warnings: the window stays inside ``QScreen.availableGeometry()``, the
answer buttons, the warnings, the sender's name and the send button are fully visible, and the
long parts scroll instead."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .qt_helpers import TIMEOUT_SCALE

HERE = Path(__file__).resolve().parent


def wait_until(condition, timeout=20.0):
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def inside(inner, outer):
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


@pytest.mark.parametrize("width,height", [(1440, 900), (1366, 768), (1280, 720)])
def test_receive_window_fits_a_small_screen(tmp_path, width, height):
    config = tmp_path / "screens.json"
    config.write_text(json.dumps({"screens": [
        {"name": f"{width}x{height}", "x": 0, "y": 0, "width": width, "height": height,
         "logicalDpi": 96, "dpr": 1}]}))
    check_fits(run_app({**os.environ,
                        "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}), width, height)

@pytest.mark.parametrize("width,height", [(1366, 768), (1280, 720)])
def test_long_names_and_a_late_press_fit_too(tmp_path, width, height):
    """Found by the #21 review: a late press ("VERSPÄTET: gedrückt um …, übermittelt um … (x s
    verspätet)"), a long sender name or a long template name did not wrap - the info area's
    content grew wider than the window (the delay and the instructions cut off at the right
    edge), and with a long name the window grew beyond the screen, "Kann nicht" and "Senden"
    off it. Wrapped, a three-line name got the height of two (the size policy set for "never
    squeezed" had dropped the labels' height-for-width)."""
    config = tmp_path / "screens.json"
    config.write_text(json.dumps({"screens": [
        {"name": f"{width}x{height}", "x": 0, "y": 0, "width": width, "height": height,
         "logicalDpi": 96, "dpr": 1}]}))
    seen = run_app({**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"},
                   "--long")
    check_fits(seen, width, height)
    assert "VERSPÄTET" in seen["facts_text"] and "59 s verspätet" in seen["facts_text"]
    assert seen["info_width"] <= seen["info_viewport_width"], seen
    assert all(seen["labels_visible"].values()), seen
    assert all(seen["labels_tall_enough"].values()), seen


def run_app(env, *args):
    result = subprocess.run([sys.executable, str(HERE / "small_screen_app.py"), *args],
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_fits(seen, width, height):
    assert seen["screen"] == [0, 0, width, height]  # the configured screen was used
    available = seen["available"]
    # the whole window, frame included, is on the screen's available area
    assert inside(seen["frame"], available), seen
    assert seen["geometry"][3] < seen["size_hint_height"], seen  # it did not grow
    for name, button in seen["buttons"].items():
        assert button["shown"], name
        # on the screen and not cut off by the window
        assert inside(button["global"], available), (name, seen)
        assert button["visible"][2:] == button["global"][2:], (name, seen)
    assert seen["name_visible"][3] > 0 and seen["warning_visible"][2:] == seen["warning_size"]
    # the long parts scroll instead of growing the window
    assert seen["info_scroll_max"] > 0 and seen["thread_scroll_max"] > 0, seen


NEEDED = ("Xvfb", "xdotool", "openbox")


@pytest.mark.skipif(any(shutil.which(t) is None for t in NEEDED),
                    reason="needs Xvfb, xdotool and openbox")
@pytest.mark.parametrize("width,height", [(1280, 720)])
def test_receive_window_fits_a_small_x_screen_with_a_window_manager(tmp_path, width, height):
    """The same on a real X server of that size with openbox's frame and title bar."""
    # Xvfb picks a free display itself (-displayfd): a number chosen here could be taken by
    # another test run at the same moment, and openbox would then meet that run's WM.
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0",
                             f"{width}x{height}x24", "-nolisten", "tcp"],
                            pass_fds=(write_end,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as numbers:
        number = numbers.readline().strip()  # written once the server accepts connections
    assert number.isdigit(), "Xvfb did not start"
    env = {**os.environ, "DISPLAY": f":{number}", "QT_QPA_PLATFORM": "xcb"}
    wm = None
    try:
        def wm_running():  # openbox owns the screen's window manager selection
            out = subprocess.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=env,
                                 capture_output=True, text=True, check=False).stdout
            return "window id" in out

        # openbox writes its messages to stdout, so both go to the log. Seen once in CI under
        # load: openbox ended with exit code 1 at start-up; the log says why, and a second start
        # on the same display is what an X session would do.
        logs = []
        for attempt in range(3):
            log = tmp_path / f"openbox-{attempt}.log"
            with log.open("wb") as out:
                wm = subprocess.Popen(["openbox", "--sm-disable"], env=env, stdout=out,
                                      stderr=subprocess.STDOUT)
            assert wait_until(lambda wm=wm: wm_running() or wm.poll() is not None)
            if wm.poll() is None and wm_running():
                break
            logs.append(f"exit {wm.poll()}: {log.read_text()}")
            wm = None
        assert wm is not None, logs
        check_fits(run_app(env, "--wm"), width, height)
    finally:
        for proc in (wm, xvfb):
            if proc is not None:
                proc.terminate()
                proc.wait(10)
