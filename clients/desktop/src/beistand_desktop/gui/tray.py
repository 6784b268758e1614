"""The tray icon and everything the app does in the user's session.

Icon states: connected (green circle), disconnected (grey ring with slash), press stored but
not yet sent (orange clock), alarm active (red triangle). Menu: "Stillen Alarm auslösen"
(optional countdown), "Probealarm", status, "Selbsttest", "Einstellungen …", "Beenden".
Raising an alarm shows nothing on the sender's screen but the tray change and – configurable –
a small "Alarm wurde ausgelöst" note or only the tooltip. A press that has NOT reached the
server is always reported (the sender must know help is not yet called).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

from .. import protocol
from ..client import AlarmClient, command_error, describe_alarm, user_message
from ..config import Config
from ..connection import Status
from ..credentials import TokenStore
from ..notify import SessionNotifier
from ..outbox import now_iso
from ..paths import Paths
from ..sender import SendResult, SendState, late_seconds
from ..session import screen_locked
from ..sound import AlarmSound, alarm_wav, check_sound, configured_command
from . import icons
from .bridge import CoreBridge
from .dialogs import CountdownDialog, Notice, SettingsDialog, ask_yes_no
from .receive_window import ReceiveWindow, local_time
from .status_window import StatusWindow

log = logging.getLogger(__name__)
REPEAT_S = 2.0      # a second press within this time is the same press (bounce, double tap)
# The coverage indicator: a word (never the colour alone) and the dot's colour.
COVERAGE_WORDS = {"green": "Grün", "yellow": "Gelb", "red": "Rot"}
COVERAGE_COLOURS = {"green": "#1e7b34", "yellow": "#b25e00", "red": "#c0152f"}


def _dot(colour: str) -> QIcon:
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(colour))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(2, 2, 12, 12)
    painter.end()
    return QIcon(pixmap)


class TrayController(QObject):
    selftest_done = Signal(list, bool)
    sound_checked = Signal(bool, str)
    lock_checked = Signal(object)

    def __init__(self, client: AlarmClient, config: Config, paths: Paths,
                 sound_command: list[str] | None = None):
        super().__init__()
        self.client = client
        self.config = config
        self.paths = paths
        self.sound_command = sound_command
        self.closed = False
        self.ask = None    # tests answer the confirmation questions (title, text) -> bool
        self.bridge = CoreBridge()
        client.listeners.append(self.bridge.listener())
        self.windows: dict[int, ReceiveWindow] = {}
        self.sent_alarms: dict[int, dict] = {}     # alarms I raised (role sender) still open
        self.pending: set[str] = set()              # client_ids stored but not confirmed
        self.notices: list[str] = []                # every note shown (also for the tests)
        self.help_coming: list[str] = []
        self.warnings: dict[str, str] = {}         # key -> text, shown while true
        self.warning_notices: dict[str, Notice] = {}
        self.status_window: StatusWindow | None = None
        self.countdown: CountdownDialog | None = None
        self.cancelled: list[str] = []             # press times of alarms cancelled here
        self._last_press = -1e9
        self._notice: Notice | None = None
        self.state = icons.DISCONNECTED
        self.status_text = "Verbindung wird aufgebaut …"

        self.tray = QSystemTrayIcon(icons.make_icon(icons.DISCONNECTED))
        self.menu = QMenu()
        self.alarm_action = QAction("Stillen Alarm auslösen", self.menu)
        self.test_action = QAction("Probealarm", self.menu)
        self.status_action = QAction(self.status_text, self.menu)
        self.status_action.setEnabled(False)
        # "Wer bekommt meinen Alarm jetzt?", pushed by the server (frame "coverage")
        self.coverage: dict | None = None
        self.coverage_action = QAction("", self.menu)
        self.coverage_action.setEnabled(False)
        self.coverage_action.setVisible(False)
        self.warning_action = QAction("", self.menu)
        self.warning_action.setEnabled(False)
        self.warning_action.setVisible(False)
        self.resolve_action = QAction("Entwarnung geben …", self.menu)
        self.cancel_action = QAction("Alarm im Vorlauf abbrechen …", self.menu)
        self.sound_action = QAction("Tonprüfung", self.menu)
        self.selftest_action = QAction("Selbsttest", self.menu)
        self.settings_action = QAction("Einstellungen …", self.menu)
        self.quit_action = QAction("Beenden", self.menu)
        for action in (self.alarm_action, self.test_action, self.resolve_action,
                       self.cancel_action, None, self.status_action, self.coverage_action,
                       self.warning_action,
                       self.sound_action,
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
        self.quit_action.triggered.connect(self.confirm_quit)
        self.resolve_action.triggered.connect(self.confirm_resolve)
        self.cancel_action.triggered.connect(self.confirm_cancel)
        self.sound_action.triggered.connect(self.check_sound)
        self.sound_checked.connect(self._on_sound_checked)
        self.lock_checked.connect(self._on_lock_checked)
        self.tray.activated.connect(self._on_activated)

        self.bridge.status.connect(self._on_status)
        self.bridge.alarm.connect(self._on_alarm)
        self.bridge.update.connect(self._on_update)
        self.bridge.message.connect(self._on_message)
        self.bridge.sent.connect(self._on_sent)
        self.bridge.hotkey.connect(lambda: self.request_alarm("hotkey"))
        self.bridge.coverage.connect(self._on_coverage)
        self.selftest_done.connect(self._on_selftest_done)

        self.supervision = QTimer(self)
        self.supervision.timeout.connect(self.supervise)
        self.supervision.start(2000)
        self.locked: bool | None = None            # the screen lock, as last reported
        self.lock_probe = screen_locked            # tests put in their own
        # critical notifications on a locked screen, withdrawn at the end or on an answer
        self.notifier = SessionNotifier()
        # one worker: D-Bus calls never block the UI, and a withdrawal never overtakes its post
        self._notify_queue = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify")
        # the alarm sound is written now, not when the first alarm arrives
        threading.Thread(target=alarm_wav, args=(paths.sound_file, config.volume),
                         name="alarm-wav", daemon=True).start()
        self._ticks = 0
        self.sound_ok: bool | None = None          # None: not yet checked
        self.sound_detail = ""
        self._refresh()
        self.tray.show()
        if not QSystemTrayIcon.isSystemTrayAvailable() or config.status_window:
            # stock GNOME has no tray: a small always-on-top window instead of nothing
            log.warning("no system tray: showing the status window")
            self.status_window = StatusWindow()
            self.status_window.alarm_requested.connect(lambda: self.request_alarm("tray"))
            self.status_window.menu_requested.connect(
                lambda: self.menu.popup(self.status_window.mapToGlobal(
                    self.status_window.menu_button.geometry().bottomLeft())))
            self._refresh()
            screen = QApplication.primaryScreen().availableGeometry()
            self.status_window.show()
            self.status_window.move(screen.right() - self.status_window.width() - 16,
                                    screen.top() + 16)

    # -- raising ----------------------------------------------------------------------------
    def hotkey_pressed(self) -> None:
        """The hotkey callback (pynput's thread): hands over to the Qt thread."""
        self.bridge.hotkey.emit()

    def request_alarm(self, source: str = "tray") -> None:
        """A press (tray, hotkey). Repeat presses while a countdown runs, or within
        ``REPEAT_S`` of the last press, are ignored: one press, one alarm."""
        now = time.monotonic()
        if self.countdown is not None:
            log.info("press via %s ignored: countdown already running", source)
            return
        if now - self._last_press < REPEAT_S:
            log.info("press via %s ignored: repeat within %.0f s", source, REPEAT_S)
            return
        self._last_press = now
        self.set_warning("cancelled", None)
        pressed_at = now_iso()
        if self.config.countdown_s > 0:
            self.countdown = CountdownDialog(self.config.countdown_s)
            # The alarm counts from the countdown's end (when it was released): the countdown
            # is the user's own grace period, not a delay - otherwise every countdown alarm
            # reached the colleagues as "VERSPÄTET". The first press stays in the log.
            self.countdown.fire.connect(lambda: self._countdown_fired(source, pressed_at))
            self.countdown.cancelled.connect(lambda: self._countdown_cancelled(source,
                                                                               pressed_at))
            self.countdown.finished.connect(self._countdown_closed)
            self.countdown.show()
            self.countdown.activateWindow()  # Return / space = "Sofort senden"
            return
        self.raise_alarm(source, pressed_at=pressed_at)

    def _countdown_fired(self, source: str, pressed_at: str) -> None:
        log.info("countdown of the press via %s at %s ended: alarm released", source,
                 pressed_at)
        self.raise_alarm(source, pressed_at=now_iso())

    def _countdown_closed(self) -> None:
        self.countdown = None

    def _countdown_cancelled(self, source: str, pressed_at: str) -> None:
        log.warning("alarm CANCELLED in the countdown by the user (pressed via %s at %s): "
                    "nothing was sent", source, pressed_at)
        at = local_time(pressed_at)
        self.cancelled.append(pressed_at)
        self.status_text = f"Alarm von {at} Uhr abgebrochen – es wurde KEIN Alarm gesendet."
        self.show_notice(self.status_text + " Bei Gefahr erneut auslösen.", urgent=True,
                         seconds=0)
        self.set_warning("cancelled", self.status_text)

    def raise_alarm(self, source: str, template: str | None = None,
                    pressed_at: str | None = None) -> str:
        item = self.client.trigger(template=template or self.config.template, source=source,
                                   pressed_at=pressed_at)
        self.pending.add(item.client_id)
        self._update_outbox_warning()
        self._refresh()
        return item.client_id

    def _update_several_warning(self) -> None:
        """Receive windows of the same size lie exactly over each other: with two alarms at
        once, the one beneath was hidden entirely (and its sound not told apart). Every window
        names all open alarms while there is more than one."""
        if len(self.windows) < 2:
            self.set_warning("several", None)
            return
        names = ", ".join(protocol.sender_name(w.alarm) for w in self.windows.values())
        self.set_warning("several", f"{len(self.windows)} Alarme gleichzeitig offen ({names})"
                                    " – die Fenster liegen übereinander.")

    def _update_outbox_warning(self) -> None:
        error = self.client.outbox.write_error
        self.set_warning("outbox", (
            f"Alarme können nicht gespeichert werden ({error}; Festplatte voll?). Ein Alarm "
            "wird trotzdem sofort gesendet, geht aber verloren, wenn beistand vorher beendet "
            "wird. Bitte die IT informieren.") if error else None)

    def request_test_alarm(self) -> str:
        return self.raise_alarm("tray", template="probealarm")

    # -- core events ------------------------------------------------------------------------
    def _on_sent(self, result: SendResult) -> None:
        cid = result.item.client_id
        text = user_message(result, self.config.late_press_s)
        if result.state == SendState.QUEUED:
            # always told, and the warning stays until the press is at the server
            self.pending.add(cid)
            self._update_pending_warning()
        else:
            self.pending.discard(cid)
            self._update_pending_warning()
            if result.state == SendState.SENT and result.item.template != "probealarm":
                self.set_warning("refused", None)
            if result.state == SendState.FAILED:
                # a warning, not a note the next note replaces: no alarm went out, and that
                # stays on screen until a press goes out again
                self.set_warning("refused", f"{text} – es wurde KEIN Alarm ausgelöst. Bei "
                                            "Gefahr: Telefon 110.")
            elif result.item.template == "probealarm":
                self.show_notice("Probealarm wurde ausgelöst.")
            elif result.item.delayed or late_seconds(result.item) >= self.config.late_press_s:
                self.show_notice(text, urgent=True, seconds=0)  # the delay must be seen
            elif self.config.confirmation == "dialog":
                self.show_notice(text)
            else:
                self.notices.append(text)
            self.status_text = text
        self._refresh()

    def _update_pending_warning(self) -> None:
        # a press counts as "not yet at the server" once an attempt failed, or after 5 s (a
        # desktop-icon press another process is sending right now is not flagged at once)
        pending = [i for i in self.client.outbox.pending() if i.client_id in self.pending
                   and (i.last_error or age_s(i.created_at) > 5)]
        if not pending:
            self.set_warning("pending", None)
            return
        first = pending[0]
        self.set_warning("pending", (
            f"Alarm ist NOCH NICHT übermittelt (gedrückt um {local_time(first.created_at)} Uhr"
            + (f", {len(pending)} Alarme" if len(pending) > 1 else "")
            + ") – keine Verbindung zum Server. Er wird automatisch gesendet, sobald die "
              "Verbindung wieder steht. Bei Gefahr: Telefon 110."))

    def _on_status(self, status: str, detail: str) -> None:
        if status == Status.CONNECTED:
            self.status_text = f"Verbunden mit {self.client.server}"
            self.set_warning("offline", None)   # only while there is no connection
            self.set_warning("unauthorized", None)
            self._report_seat()
        elif status == Status.UNAUTHORIZED:
            self.status_text = ("Zugang abgelehnt – dieser PC empfängt und sendet KEINE "
                                "Alarme. Bitte neu koppeln (Einstellungen).")
            self.set_warning("unauthorized", self.status_text)
        else:
            self.status_text = "Keine Verbindung zum Alarmserver"
        self._refresh()

    def _on_coverage(self, coverage: dict) -> None:
        if coverage != self.coverage:
            log.info("coverage %s: %s", coverage.get("level"), coverage.get("level_text"))
        self.coverage = coverage
        self._refresh()

    def coverage_line(self) -> str:
        """The coverage indicator as one line (menu, tooltip, status window); "" while not
        connected or not yet known."""
        if self.client.status != Status.CONNECTED or not self.coverage:
            return ""
        word = COVERAGE_WORDS.get(self.coverage.get("level"), "")
        return f"{word} – {self.coverage.get('level_text', '')}" if word else ""

    def _on_alarm(self, alarm: dict) -> None:
        alarm = protocol.normalise_alarm(alarm)
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
        wav = alarm_wav(self.paths.sound_file, self.config.volume)
        sound = AlarmSound(wav, command=self.sound_command
                           or configured_command(self.config.sound_player, wav),
                           on_failure=lambda detail: self.sound_checked.emit(False, detail),
                           on_ok=lambda: self.sound_checked.emit(True, "Alarmton spielt"))
        try:
            window = ReceiveWindow(protocol.normalise_alarm(alarm), sound,
                                   late_s=self.config.late_press_s)
        except Exception:
            # never lost without a trace: the bare alarm, which the window can always show
            log.exception("alarm %s: cannot show its details: %.500r", alarm_id, alarm)
            window = ReceiveWindow({"alarm_id": alarm_id, "template": {"name": "Alarm"},
                                    "sender": {}, "location": {
                                        "text": "Einzelheiten nicht darstellbar – bitte im "
                                                "Web oder per Telefon nachsehen"}},
                                   sound, late_s=self.config.late_press_s)
        window.respond_requested.connect(self._respond)
        window.message_requested.connect(self._send_message)
        window.resolve_requested.connect(self._resolve)
        window.set_warnings(list(self.warnings.values()))
        self.windows[alarm_id] = window
        self._update_several_warning()
        for frame in self.client.messages.get(alarm_id, []):
            window.add_message(frame)
        # shown on top, but without taking the keyboard from the program being typed in
        log.info("alarm %s: receive window shown (from %s)", alarm_id,
                 (alarm.get("sender") or {}).get("name", "?"))
        window.show()
        window.raise_()
        answered = self.client.alarms.get(alarm_id, {}).get("own_answer")
        if answered:  # answered on another device before this window opened (catch-up)
            window.answered_elsewhere(answered)
        else:
            window.start_sound()
            if self.locked:
                self._notify(alarm_id)
        self._refresh()

    def _on_update(self, frame: dict, alarm: dict) -> None:
        alarm_id = frame.get("alarm_id")
        kind = frame.get("kind")
        if kind == "nobody_coming":
            # never a success look: stays until help comes or the alarm ends
            text = frame.get("text") or "Niemand hat zugesagt – rufen Sie 110"
            call = frame.get("call") or "110"
            self.set_warning(f"nobody:{alarm_id}", text if call in text
                             else f"{text} (Telefon {call})")
        if kind in ("help_coming", "resolved", "cancelled"):
            self.set_warning(f"nobody:{alarm_id}", None)
        if kind == "help_coming":
            self.help_coming.append(frame.get("text", ""))
            self.show_notice(frame.get("text") or "Hilfe kommt.")
        elif kind == "response" and alarm_id in self.sent_alarms:
            responder = frame.get("responder") or {}
            if responder.get("response") == "coming":
                self.help_coming.append(f"Hilfe kommt: {responder.get('name', '')}")
        if kind in ("resolved", "cancelled") or kind == "own_answer":
            self._withdraw_notification(alarm_id)
        if kind in ("resolved", "cancelled"):
            self.sent_alarms.pop(alarm_id, None)
            window = self.windows.pop(alarm_id, None)
            if window is not None:
                log.info("alarm %s: %s, receive window closed", alarm_id, kind)
                window.stop_sound()
                window.close_for_good()
                window.deleteLater()
                self._update_several_warning()
        elif alarm_id in self.windows:
            window = self.windows[alarm_id]
            window.apply_update(frame, alarm)
            if kind == "own_answer" and not window.my_response:
                # the server: this person answered on another device - silence this one now
                log.info("alarm %s answered on another device: sound off", alarm_id)
                window.answered_elsewhere(frame.get("response", ""))
        if alarm_id in self.sent_alarms and frame.get("state"):
            self.sent_alarms[alarm_id]["state"] = frame["state"]
        self._refresh()

    def _on_message(self, frame: dict) -> None:
        window = self.windows.get(frame.get("alarm_id"))
        if window is not None:
            window.add_message(frame)

    def _respond(self, alarm_id: int, response: str) -> None:
        self._withdraw_notification(alarm_id)
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

    def _resolve(self, alarm_id: int) -> None:
        future = self.client.resolve(alarm_id)

        def done(fut):
            exc = fut.exception()
            if exc is not None:
                QTimer.singleShot(0, self, lambda: self.show_notice(
                    f"Entwarnung NICHT gegeben: {command_error(exc)}", urgent=True))
        future.add_done_callback(done)

    # -- controls ---------------------------------------------------------------------------
    def _ask(self, title: str, text: str) -> bool:
        if self.ask is not None:
            return self.ask(title, text)
        return ask_yes_no(None, title, text)

    def confirm_resolve(self) -> None:
        """Entwarnung for the newest open alarm this person raised."""
        if not self.sent_alarms:
            return
        alarm_id = max(self.sent_alarms)
        if self._ask("Entwarnung", "Entwarnung geben? Der Alarm endet für alle Beteiligten."):
            log.info("all-clear for alarm %s from the tray", alarm_id)
            self._resolve(alarm_id)

    def confirm_cancel(self) -> None:
        """Cancel a server-side countdown (state "countdown") of an alarm raised here."""
        waiting = [a for a, alarm in self.sent_alarms.items()
                   if alarm.get("state") == "countdown"]
        if not waiting:
            return
        alarm_id = max(waiting)
        if self._ask("Alarm abbrechen", "Den Alarm im Vorlauf abbrechen? Dann wird KEIN Alarm "
                                        "gesendet."):
            log.warning("alarm %s CANCELLED in the server's countdown by the user", alarm_id)
            future = self.client.cancel(alarm_id)

            def done(fut):
                ok = fut.exception() is None and fut.result().get("status") == 200
                QTimer.singleShot(0, self, lambda: self.show_notice(
                    "Alarm im Vorlauf abgebrochen – es wurde KEIN Alarm gesendet." if ok else
                    "Abbrechen nicht möglich: der Alarm ist bereits ausgelöst.", urgent=True,
                    seconds=0))
            future.add_done_callback(done)

    def confirm_quit(self) -> None:
        if self._ask("beistand beenden", "beistand wirklich beenden? Dann empfängt dieser PC "
                                         "KEINE Alarme mehr und kann keinen Alarm auslösen."):
            log.warning("quit by the user")
            QApplication.quit()

    # -- sound ------------------------------------------------------------------------------
    def check_sound(self) -> None:
        """The sound self-test (at start and from the menu), on a worker thread."""
        def work():
            result = check_sound(self.paths.state_dir, self.sound_command,
                                 self.config.sound_player)
            self.sound_checked.emit(result.ok, result.detail)
        threading.Thread(target=work, name="sound-check", daemon=True).start()

    def _on_lock_checked(self, locked) -> None:
        if locked is not None and locked != self.locked:
            log.info("screen %s", "locked" if locked else "unlocked")
            self.locked = locked
            self._report_seat()
            if locked:  # alarms still waiting for an answer go onto the lock screen too
                for alarm_id, window in list(self.windows.items()):
                    if not window.my_response:
                        self._notify(alarm_id)

    # -- the locked screen: notifications in this session --------------------------------
    def _notify(self, alarm_id: int) -> None:
        """A critical notification (shown on GNOME's and KDE's lock screen), off the UI
        thread; replaced, not duplicated, if one is up for this alarm."""
        alarm = self.client.alarms.get(alarm_id) or {}
        title = "Stiller Alarm: " + ((alarm.get("template") or {}).get("name") or "Alarm")
        body = describe_alarm(alarm) if alarm.get("sender") else "Bitte Bildschirm entsperren."
        self._notify_queue.submit(self.notifier.show, alarm_id, title, body)

    def _withdraw_notification(self, alarm_id: int) -> None:
        self._notify_queue.submit(self.notifier.withdraw, alarm_id)

    def _on_sound_checked(self, ok: bool, detail: str) -> None:
        changed = ok != self.sound_ok
        self.sound_ok, self.sound_detail = ok, detail
        if ok:
            self.set_warning("sound", None)
        else:
            self.set_warning("sound", f"OHNE TON: Der Alarmton kann nicht abgespielt werden "
                                      f"({detail}). Alarme erscheinen nur auf dem Bildschirm.")
        if changed:
            self._report_seat()

    def _report_seat(self) -> None:
        """Tells the server this seat's state (supervision shows "ohne Ton")."""
        if self.sound_ok is None:
            return
        self.client.report_seat(sound=self.sound_ok,
                                detail="" if self.sound_ok else self.sound_detail,
                                locked=self.locked if self.config.report_locked else None)

    # -- supervision ------------------------------------------------------------------------
    def supervise(self) -> None:
        offline = self.client.offline_for()
        if offline > self.config.offline_warning_s and self.client.status != Status.CONNECTED:
            self.set_warning("offline", f"Keine Verbindung zum Alarmserver seit {int(offline)} s"
                                        " – Alarme können nicht empfangen werden.")
        elif self.client.status == Status.CONNECTED:
            self.set_warning("offline", None)
        self._ticks += 1
        if self.config.report_locked and self._ticks % 5 == 1:  # every 10 s, off the UI
            threading.Thread(target=lambda: self.lock_checked.emit(self.lock_probe()),
                             name="lock-probe", daemon=True).start()
        self._update_outbox_warning()
        # presses left by another process (desktop icon) show as pending too
        for item in self.client.outbox.pending():
            self.pending.add(item.client_id)
        self._update_pending_warning()
        self._refresh()

    def set_warning(self, key: str, text: str | None) -> None:
        """A warning that stays visible (tray tooltip and menu, a note on screen, the status
        window, open receive windows) exactly while its condition is true."""
        if self.closed:
            return
        if text:
            if self.warnings.get(key) != text:
                if key not in self.warnings:
                    log.warning("warning %s: %s", key, text)
                    self.notices.append(text)
                self.warnings[key] = text
                note = self.warning_notices.get(key)
                if note is None:
                    note = Notice(text, urgent=True, seconds=0)
                    self.warning_notices[key] = note
                    note.show()
                else:
                    note.set_text(text)
                self._place_notices()
        elif key in self.warnings:
            log.info("warning %s cleared", key)
            del self.warnings[key]
            note = self.warning_notices.pop(key, None)
            if note is not None:
                note.close()
                note.deleteLater()
            self._place_notices()
        for window in self.windows.values():
            window.set_warnings(list(self.warnings.values()))
        self._refresh()

    def _place_notices(self) -> None:
        screen = QApplication.primaryScreen().availableGeometry()
        bottom = screen.bottom() - 16
        for note in [self._notice, *self.warning_notices.values()]:
            if note is None or not note.isVisible():
                continue
            note.adjustSize()
            height = note.sizeHint().height()
            note.move(screen.right() - note.width() - 16, bottom - height)
            bottom -= height + 8

    def _refresh(self) -> None:
        if self.closed:
            return  # a late signal from the core after close()
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
        coverage = self.coverage_line()
        if coverage:
            tooltip += "\n" + coverage
        for text in self.warnings.values():
            tooltip += "\n⚠ " + text
        if self.help_coming and self.sent_alarms:
            tooltip += "\n" + self.help_coming[-1]
        self.tray.setToolTip(tooltip)
        self.status_action.setText(self.status_text)
        self.coverage_action.setText(coverage)
        self.coverage_action.setVisible(bool(coverage))
        if coverage:
            self.coverage_action.setIcon(_dot(COVERAGE_COLOURS[self.coverage["level"]]))
        self.warning_action.setText("⚠ " + " / ".join(self.warnings.values())
                                    if self.warnings else "")
        self.warning_action.setVisible(bool(self.warnings))
        self.resolve_action.setVisible(bool(self.sent_alarms))
        self.cancel_action.setVisible(any(a.get("state") == "countdown"
                                          for a in self.sent_alarms.values()))
        if self.status_window is not None:
            self.status_window.show_state(state, self.status_text
                                          + (f"\n{coverage}" if coverage else ""),
                                          list(self.warnings.values()))

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
        self._notice.show()
        self._place_notices()

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
            from ..selftest import local_checks

            local = local_checks(self.paths.state_dir, sound_command=self.sound_command,
                                 player=self.config.sound_player)
            sound = local[0]
            self.sound_checked.emit(sound.ok, sound.detail.removeprefix("OHNE TON – "))
            result = asyncio.run(run_selftest(self.client.server, self.client.token,
                                              local=local, hotkey=self.config.hotkey,
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
        self.closed = True
        self.supervision.stop()
        self._notify_queue.shutdown(wait=False)
        for signal in (self.bridge.status, self.bridge.alarm, self.bridge.update,
                       self.bridge.message, self.bridge.sent, self.sound_checked,
                       self.lock_checked, self.bridge.coverage):
            with contextlib.suppress(RuntimeError, TypeError):
                signal.disconnect()
        for window in self.windows.values():
            window.stop_sound()
            window.close_for_good()
            window.deleteLater()
        self.windows.clear()
        if self._notice is not None:
            self._notice.close()
            self._notice.deleteLater()
            self._notice = None
        for note in self.warning_notices.values():
            note.close()
            note.deleteLater()
        self.warning_notices.clear()
        if self.status_window is not None:
            self.status_window.close()
            self.status_window.deleteLater()
            self.status_window = None
        if self.countdown is not None:
            self.countdown.stop()
            self.countdown.deleteLater()
        self.tray.hide()
        self.tray.deleteLater()
        self.menu.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def age_s(iso: str) -> float:
    try:
        return (datetime.now(UTC) - datetime.fromisoformat(iso)).total_seconds()
    except ValueError:
        return 0.0


def alarm_summary(alarm: dict) -> str:
    return f"{protocol.sender_name(alarm)}: {', '.join(protocol.location_lines(alarm))}"
