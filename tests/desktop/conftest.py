"""Fixtures of the desktop client tests: one offscreen QApplication, a tray controller with a
real core connected to a small real protocol server."""

import gc

import pytest
from beistand_desktop.backoff import Backoff
from beistand_desktop.client import AlarmClient
from beistand_desktop.config import Config
from beistand_desktop.cursor import EventCursor
from beistand_desktop.gui.tray import TrayController
from beistand_desktop.outbox import Outbox
from beistand_desktop.paths import default_paths

from .protocol_server import ProtocolServer
from .qt_helpers import qapp, sound_command


@pytest.fixture
def app():
    return qapp()


@pytest.fixture(autouse=True)
def _qt_garbage_collected_here():
    """Qt objects left unreferenced by a test are collected at its end, while the QApplication
    and the test's threads are in a known state: a later garbage collection, in whatever test
    the same process runs next (pytest-xdist mixes files), crashed the process once."""
    yield
    gc.collect()
    from PySide6.QtCore import QCoreApplication, QEvent

    if QCoreApplication.instance() is not None:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        QCoreApplication.processEvents()


@pytest.fixture
def tray_setup(tmp_path, app):
    proto = ProtocolServer().start()
    paths = default_paths(tmp_path).create()
    config = Config(server=proto.url, offline_warning_s=1)
    client = AlarmClient(proto.url, proto.token, Outbox(paths.outbox_dir),
                         EventCursor(paths.cursor_file))
    client.connection.backoff = Backoff(first=0.05, maximum=0.2)
    client.sender.backoff = Backoff(first=0.2, maximum=0.5)
    tray = TrayController(client, config, paths, sound_command=sound_command(paths))
    client.start()
    yield proto, tray, client, paths
    tray.close()
    client.stop()
    proto.stop()
