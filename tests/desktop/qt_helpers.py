"""Qt in the tests: one offscreen QApplication, and pumping its event loop until a condition."""

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication


def qapp():
    return QApplication.instance() or QApplication([])


# The timeouts below only bound how long a failing test waits for the state it asserts; they
# are no target. CI runs on a loaded 2-core machine (load 15 seen), so they are stretched.
TIMEOUT_SCALE = float(os.environ.get("BEISTAND_TEST_TIMEOUT_SCALE", "4"))


def pump_until(condition, timeout=10.0):
    app = qapp()
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    app.processEvents()
    return condition()


PLAYER = ["python3", "-c", "import sys, wave; wave.open(sys.argv[1]).readframes(-1)"]


def sound_command(paths):
    """A 'player' that really opens and decodes the client's WAV (no sound card here)."""
    return [*PLAYER, str(paths.sound_file)]


def delete_now(widget):
    """Deletes a top-level widget while the QApplication lives (Qt crashes if Python's garbage
    collector does it at interpreter exit)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
