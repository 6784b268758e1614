"""Starts the tray app: pairing if needed, the core, the hotkey, a start-up check."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog

from ..client import AlarmClient
from ..config import Config
from ..connection import Status
from ..credentials import TokenStore
from ..cursor import EventCursor
from ..hotkey import HotkeyListener
from ..instance import AlreadyRunning, InstanceLock
from ..outbox import Outbox
from ..paths import Paths
from .dialogs import SettingsDialog
from .tray import TrayController

log = logging.getLogger(__name__)


def run_tray(paths: Paths, config: Config, server: str, token: str) -> int:
    try:
        lock = InstanceLock(paths.state_dir).acquire()
    except AlreadyRunning as exc:
        print(f"beistand läuft für diesen Benutzer an diesem Arbeitsplatz bereits (PID "
              f"{exc.pid}); es wird kein zweites Programm gestartet.", file=sys.stderr)
        log.info("second start refused: already running as PID %s", exc.pid)
        return 0
    try:
        return _run_tray(paths, config, server, token)
    finally:
        lock.release()


def _run_tray(paths: Paths, config: Config, server: str, token: str) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("beistand")
    app.setQuitOnLastWindowClosed(False)
    if not server or not token:
        dialog = SettingsDialog(config, token)
        if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.token:
            print("Nicht gekoppelt.", file=sys.stderr)
            return 2
        config.save(paths.config_file)
        server, token = config.server, dialog.token
        TokenStore(paths.token_file, server).save(token)
    client = AlarmClient(server, token, Outbox(paths.outbox_dir), EventCursor(paths.cursor_file))
    controller = TrayController(client, config, paths)
    if config.problems_text(paths.config_file):
        controller.set_warning("config", config.problems_text(paths.config_file))
    client.start()
    hotkey = None
    if config.hotkey_enabled and config.hotkey:
        hotkey = HotkeyListener(config.hotkey, controller.hotkey_pressed)
        status = hotkey.start()
        if status.active:
            log.info("hotkey %s active", config.hotkey)
        else:
            log.warning("hotkey: %s", status.reason)
            controller.set_warning("hotkey", f"Tastenkürzel {config.hotkey} nicht aktiv: "
                                             f"{status.reason}")
    controller.check_sound()  # sound self-test at start: the player must exit with 0

    def startup_check():  # self-test at start: the connection must stand within 10 s
        if client.status != Status.CONNECTED:
            controller.set_warning("offline", "Selbsttest beim Start: keine Verbindung zum "
                                              f"Alarmserver {server}. Alarme können nicht "
                                              "gesendet oder empfangen werden.")
    QTimer.singleShot(10_000, startup_check)
    try:
        return app.exec()
    finally:
        if hotkey is not None:
            hotkey.stop()
        controller.close()
        client.stop()
