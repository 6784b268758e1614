"""The tray icon and everything the app does in the user's session.

Icon states: connected (green circle), disconnected (grey ring with slash), press stored but
not yet sent (orange clock), alarm active (red triangle). Menu: "Stillen Alarm auslösen"
(optional countdown), "Probealarm", status, "Selbsttest", "Einstellungen …", "Beenden".
Raising an alarm shows nothing on the sender's screen but the tray change and – configurable –
a small "Alarm wurde ausgelöst" note or only the tooltip. A press that has NOT reached the
server is always reported (the sender must know help is not yet called).
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

from .. import protocol
from ..client import AlarmClient, user_message
from ..config import Config
from ..connection import Status
from ..credentials import TokenStore
from ..paths import Paths
from ..sender import SendResult, SendState
from ..sound import AlarmSound, write_alarm_wav
from . import icons
from .bridge import CoreBridge
from .dialogs import CountdownDialog, Notice, SettingsDialog
from .receive_window import ReceiveWindow

log = logging.getLogger(__name__)


class TrayController(QObject):
    selftest_done = Signal(list, bool)

    def __init__(self, client: AlarmClient, config: Config, paths: Paths,
                 sound_command: list[str] | None = None):
        super().__init__()
        self.client = client
        self.config = config
        self.paths = paths
        self.sound_command = sound_command
        self.bridge = CoreBridge()
        client.listeners.append(self.bridge.listener())
        self.windows: dict[int, ReceiveWindow] = {}
        self.sent_alarms: dict[int, dict] = {}     # alarms I raised (role sender) still open
        self.pending: set[str] = set()              # client_ids stored but not confirmed
        self.notices: list[str] = []                # every note shown (also for the tests)
        self.help_coming: list[str] = []
        self.offline_warned = False
        self.countdown: CountdownDialog | None = None
        self._notice: Notice | None = None
        self.state = icons.DISCONNECTED
        self.status_text = "Verbindung wird aufgebaut …"

        self.tray = QSystemTrayIcon(icons.make_icon(icons.DISCONNECTED))
        self.menu = QMenu()
        self.alarm_action = QAction("Stillen Alarm auslösen", self.menu)
        self.test_action = QAction("Probealarm", self.menu)
        self.status_action = QAction(self.status_text, self.menu)
        self.status_action.setEnabled(False)
        self.selftest_action = QAction("Selbsttest", self.menu)
        self.settings_action = QAction("Einstellungen …", self.menu)
        self.quit_action = QAction("Beenden", self.menu)
        for action in (self.alarm_action, self.test_action, None, self.status_action,
                       self.selftest_action, self.settings_action, None, self.quit_action):
            if action is None:
                self.menu.addSeparator()
            else:
                self.menu.addAction(action)
        self.tray.setContextMenu(self.menu)
        self.alarm_action.triggered.connect(lambda: self.request_alarm("tray"))
        self.test_action.triggered.connect(self.request_test_alarm)
        self.settings_action.triggered.connect(self.open_settings)
        self.selftest_action.triggered.connect(self.run_selftest)
        self.quit_action.triggered.connect(QApplication.quit)
        self.tray.activated.connect(self._on_activated)

        self.bridge.status.connect(self._on_status)
        self.bridge.alarm.connect(self._on_alarm)
        self.bridge.update.connect(self._on_update)
        self.bridge.message.connect(self._on_message)
        self.bridge.sent.connect(self._on_sent)
        self.bridge.hotkey.connect(lambda: self.request_alarm("hotkey"))
        self.selftest_done.connect(self._on_selftest_done)

        self.supervision = QTimer(self)
        self.supervision.timeout.connect(self.supervise)
        self.supervision.start(2000)
        self._refresh()
        self.tray.show()

    # -- raising ----------------------------------------------------------------------------
    def hotkey_pressed(self) -> None:
        """The hotkey callback (pynput's thread): hands over to the Qt thread."""
        self.bridge.hotkey.emit()

    def request_alarm(self, source: str = "tray") -> None:
        if self.config.countdown_s > 0 and self.countdown is None:
            self.countdown = CountdownDialog(self.config.countdown_s)
            self.countdown.fire.connect(lambda: self.raise_alarm(source))
            self.countdown.finished.connect(self._countdown_closed)
            self.countdown.show()
            return
        self.raise_alarm(source)

    def _countdown_closed(self) -> None:
        self.countdown = None

    def raise_alarm(self, source: str, template: str | None = None) -> str:
        item = self.client.trigger(template=template or self.config.template, source=source)
        self.pending.add(item.client_id)
        self._refresh()
        return item.client_id

    def request_test_alarm(self) -> str:
        return self.raise_alarm("tray", template="probealarm")

    # -- core events ------------------------------------------------------------------------
    def _on_sent(self, result: SendResult) -> None:
        cid = result.item.client_id
        text = user_message(result)
        if result.state == SendState.QUEUED:
            # always told: help is not yet called
            if cid not in self.pending or result.item.attempts == 1:
                self.show_notice(text, urgent=True)
            self.pending.add(cid)
        else:
            self.pending.discard(cid)
            if result.state == SendState.FAILED:
                self.show_notice(text, urgent=True)
            elif result.item.template == "probealarm":
                self.show_notice("Probealarm wurde ausgelöst.")
            elif result.item.delayed:
                self.show_notice(text, urgent=True)  # the delay must not go unnoticed
            elif self.config.confirmation == "dialog":
                self.show_notice(text)
            else:
                self.notices.append(text)
            self.status_text = text
        self._refresh()

    def _on_status(self, status: str, detail: str) -> None:
        if status == Status.CONNECTED:
            self.offline_warned = False
            self.status_text = f"Verbunden mit {self.client.server}"
        elif status == Status.UNAUTHORIZED:
            self.status_text = "Zugang abgelehnt – bitte neu koppeln (Einstellungen)"
            self.show_notice(self.status_text, urgent=True, seconds=0)
        else:
            self.status_text = "Keine Verbindung zum Alarmserver"
        self._refresh()

    def _on_alarm(self, alarm: dict) -> None:
        alarm_id = alarm["alarm_id"]
        if alarm.get("state") in ("resolved", "cancelled"):
            return
        if alarm.get("role") == "sender":
            if not (alarm.get("template") or {}).get("test"):
                self.sent_alarms[alarm_id] = alarm
                self._refresh()
            return
        if alarm_id in self.windows:
            return
        backlog = int(self.client.connection.hello.get("last_event_id") or 0)
        if alarm.get("event_id", 0) <= backlog:
            # stored before this connection: its all-clear may follow in the same catch-up,
            # so open the window only if the alarm is still open a moment later
            QTimer.singleShot(1500, lambda: self._open_if_still_open(alarm))
            return
        self._open_window(alarm)

    def _open_if_still_open(self, alarm: dict) -> None:
        current = self.client.alarms.get(alarm["alarm_id"], {})
        if not current.get("closed") and alarm["alarm_id"] not in self.windows:
            self._open_window(alarm)

    def _open_window(self, alarm: dict) -> None:
        alarm_id = alarm["alarm_id"]
        sound = AlarmSound(write_alarm_wav(self.paths.sound_file, self.config.volume),
                           command=self.sound_command)
        window = ReceiveWindow(alarm, sound)
        window.respond_requested.connect(self._respond)
        window.message_requested.connect(self._send_message)
        self.windows[alarm_id] = window
        for frame in self.client.messages.get(alarm_id, []):
            window.add_message(frame)
        window.show()
        window.raise_()
        window.activateWindow()
        window.start_sound()
        self._refresh()

    def _on_update(self, frame: dict, alarm: dict) -> None:
        alarm_id = frame.get("alarm_id")
        kind = frame.get("kind")
        if kind == "help_coming":
            self.help_coming.append(frame.get("text", ""))
            self.show_notice(frame.get("text") or "Hilfe kommt.")
        elif kind == "response" and alarm_id in self.sent_alarms:
            responder = frame.get("responder") or {}
            if responder.get("response") == "coming":
                self.help_coming.append(f"Hilfe kommt: {responder.get('name', '')}")
        if kind in ("resolved", "cancelled"):
            self.sent_alarms.pop(alarm_id, None)
            window = self.windows.pop(alarm_id, None)
            if window is not None:
                window.stop_sound()
                window.close()
                window.deleteLater()
        elif alarm_id in self.windows:
            self.windows[alarm_id].apply_update(frame, alarm)
        self._refresh()

    def _on_message(self, frame: dict) -> None:
        window = self.windows.get(frame.get("alarm_id"))
        if window is not None:
            window.add_message(frame)

    def _respond(self, alarm_id: int, response: str) -> None:
        future = self.client.respond(alarm_id, response)
        window = self.windows.get(alarm_id)

        def done(fut):
            exc = fut.exception()
            if window is not None:
                QTimer.singleShot(0, window, lambda: window.response_done(exc is None,
                                                                          str(exc or "")))
        future.add_done_callback(done)

    def _send_message(self, alarm_id: int, text: str) -> None:
        self.client.send_message(alarm_id, text)

    # -- supervision ------------------------------------------------------------------------
    def supervise(self) -> None:
        offline = self.client.offline_for()
        if offline > self.config.offline_warning_s and not self.offline_warned:
            self.offline_warned = True
            self.show_notice(f"Keine Verbindung zum Alarmserver seit {int(offline)} s – "
                             "Alarme können nicht empfangen werden.", urgent=True, seconds=0)
        # presses left by another process (desktop icon) show as pending too
        for item in self.client.outbox.pending():
            self.pending.add(item.client_id)
        self._refresh()

    def _refresh(self) -> None:
        open_received = [w for w in self.windows.values()]
        if self.pending and self.client.outbox.pending():
            state = icons.PENDING
        elif open_received or self.sent_alarms:
            state = icons.ALARM
        elif self.client.status == Status.CONNECTED:
            state = icons.CONNECTED
        else:
            state = icons.DISCONNECTED
        if not self.client.outbox.pending():
            self.pending.clear()
        if state != self.state:
            self.state = state
            self.tray.setIcon(icons.make_icon(state))
        tooltip = "beistand – " + {
            icons.CONNECTED: "bereit", icons.DISCONNECTED: "keine Verbindung",
            icons.PENDING: "Alarm noch nicht übermittelt!", icons.ALARM: "Alarm aktiv"}[state]
        if self.status_text:
            tooltip += "\n" + self.status_text
        if self.help_coming and self.sent_alarms:
            tooltip += "\n" + self.help_coming[-1]
        self.tray.setToolTip(tooltip)
        self.status_action.setText(self.status_text)

    def show_notice(self, text: str, urgent: bool = False, seconds: int = 5) -> None:
        log.info("notice: %s", text)
        self.notices.append(text)
        if self.config.confirmation == "none" and not urgent:
            return
        if self.config.confirmation == "tooltip" and not urgent:
            self.tray.setToolTip(text)
            return
        if self._notice is not None:
            self._notice.close()
        self._notice = Notice(text, urgent=urgent, seconds=seconds)
        screen = QApplication.primaryScreen().availableGeometry()
        self._notice.adjustSize()
        self._notice.move(screen.right() - self._notice.width() - 16,
                          screen.bottom() - self._notice.sizeHint().height() - 16)
        self._notice.show()

    def _on_activated(self, reason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.menu.popup(self.tray.geometry().center())

    # -- settings, self-test ----------------------------------------------------------------
    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.config, self.client.token)
        dialog.accepted.connect(lambda: self._save_settings(dialog))
        dialog.show()
        return dialog

    def _save_settings(self, dialog: SettingsDialog) -> None:
        self.config.save(self.paths.config_file)
        if dialog.token and dialog.config.server:
            TokenStore(self.paths.token_file, dialog.config.server).save(dialog.token)
        self.show_notice("Einstellungen gespeichert. Server- oder Token-Änderungen gelten "
                         "nach einem Neustart des Programms.")

    def run_selftest(self) -> None:
        import asyncio

        from ..selftest import run_selftest

        def work():
            result = asyncio.run(run_selftest(self.client.server, self.client.token,
                                              hotkey=self.config.hotkey,
                                              button_device=self.config.button_device,
                                              state_dir=self.paths.state_dir,
                                              check_hotkey_registration=False))
            self.selftest_done.emit(result.lines(), result.ok)
        threading.Thread(target=work, daemon=True).start()

    def _on_selftest_done(self, lines: list, ok: bool) -> None:
        self.show_notice("\n".join(lines), urgent=not ok, seconds=15)

    def close(self) -> None:
        """Stops sounds and timers and deletes the Qt objects while the application lives
        (deleting them later, at interpreter exit, crashes Qt)."""
        self.supervision.stop()
        for window in self.windows.values():
            window.stop_sound()
            window.close()
            window.deleteLater()
        self.windows.clear()
        if self._notice is not None:
            self._notice.close()
            self._notice.deleteLater()
            self._notice = None
        if self.countdown is not None:
            self.countdown.reject()
            self.countdown.deleteLater()
        self.tray.hide()
        self.tray.deleteLater()
        self.menu.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def alarm_summary(alarm: dict) -> str:
    return f"{protocol.sender_name(alarm)}: {', '.join(protocol.location_lines(alarm))}"
