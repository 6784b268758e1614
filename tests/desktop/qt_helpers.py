"""Qt in the tests: one offscreen QApplication, and pumping its event loop until a condition."""

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication


def qapp():
    return QApplication.instance() or QApplication([])


def pump_until(condition, timeout=10.0):
    app = qapp()
    deadline = time.monotonic() + timeout
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
