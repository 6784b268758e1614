"""The receive window: top-most, large, with a repeating sound until acknowledged.

Shows who needs help, where (room/floor/building or position), the distance, phone numbers,
the time and the instructions; "Ich komme" / "Kann nicht", a message to the alarm's thread and
the list of who is coming. The all-clear (or a cancel) closes it on every client.

No accidental answers: the window is shown *without* taking the keyboard from the program the
colleague is typing in, its buttons never take keyboard focus (so a space or Return typed into
the window answers nothing), and the keyboard way to answer is a deliberate chord shown on the
button (Strg+Alt+K „Ich komme“, Strg+Alt+N „Kann nicht“). The message field takes focus only
when clicked (or with Strg+Alt+M).

Small screens (1366x768, 1280x720 laptops): the window never grows beyond the screen's
available geometry (``QScreen.availableGeometry``, without panels, less room for the window
frame). Who and where, the instructions and the facts scroll in one area; the thread and the
list of who is coming are lists that scroll; the warnings, the answer buttons and the message
field stay visible whatever the length of the instructions or the thread.
"""

from __future__ import annotations

import logging
from datetime import datetime

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from .. import protocol
from ..client import clock as local_time
from ..client import press_times
from ..sound import AlarmSound

log = logging.getLogger(__name__)

COMING_KEYS = "Ctrl+Alt+K"
CANNOT_KEYS = "Ctrl+Alt+N"
MESSAGE_KEYS = "Ctrl+Alt+M"
COMING_KEYS_TEXT = "Strg+Alt+K"
CANNOT_KEYS_TEXT = "Strg+Alt+N"
# The window's preferred size; it is made smaller to fit the screen.
PREFERRED = QSize(900, 760)
# Room left for the window manager's frame (title bar, borders) until the real frame is known.
FRAME_ALLOWANCE = QSize(16, 48)


def press_delay(alarm: dict) -> float | None:
    """Seconds between the press (``pressed_at``) and the server storing it."""
    try:
        return (datetime.fromisoformat(alarm["triggered_at"])
                - datetime.fromisoformat(alarm["pressed_at"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        return None


def response_text(response: str) -> str:
    return {"coming": "kommt", "cannot": "kann nicht"}.get(response, response)


def _font(size: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSize(size)
    font.setBold(bold)
    return font


class _InfoArea(QScrollArea):
    """Asks for the whole height of its content (QScrollArea caps its hint at 24 lines), so the
    window is as tall as needed where the screen allows, and scrolls where it does not."""

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.widget() is not None:
            content = self.widget().sizeHint()
            hint.setHeight(content.height() + 2 * self.frameWidth())
        return hint


class _ShortList(QListWidget):
    """A list that asks for about four lines and scrolls beyond: on a small screen the room
    goes to who and where first."""

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        hint.setHeight(4 * self.fontMetrics().lineSpacing() + 2 * self.frameWidth() + 8)
        return hint


class ReceiveWindow(QWidget):
    respond_requested = Signal(int, str)
    message_requested = Signal(int, str)
    resolve_requested = Signal(int)

    def __init__(self, alarm: dict, sound: AlarmSound | None = None, parent=None,
                 late_s: float = 30.0, can_resolve: bool = False):
        super().__init__(parent, Qt.WindowType.Window | Qt.WindowType.WindowStaysOnTopHint)
        self.alarm = alarm
        self.alarm_id = alarm["alarm_id"]
        self.sound = sound
        self.my_response = ""
        template = alarm.get("template") or {}
        test = bool(template.get("test"))
        title = f"{'PROBEALARM' if test else 'STILLER ALARM'} – {template.get('name', 'Alarm')}"
        self.setWindowTitle(title)
        self.setObjectName("receiveWindow")
        colour = "#1d4ed8" if test else "#c8102e"
        self.setStyleSheet(f"""
            #receiveWindow {{ background: #fff; }}
            #banner {{ background: {colour}; color: white; padding: 14px; }}
            QPushButton {{ font-size: 18pt; padding: 12px 24px; }}
            #coming {{ background: #1b7f3a; color: white; font-weight: bold; }}
            #cannot {{ background: #e5e7eb; }}
        """)
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 16)
        banner = QLabel(title)
        banner.setObjectName("banner")
        banner.setFont(_font(24, True))
        banner.setWordWrap(True)  # a long template name wraps instead of widening the window
        root.addWidget(banner)

        # Warnings of this PC (e.g. no sound): never scrolled away.
        self.warning_label = QLabel("")
        self.warning_label.setObjectName("warning")
        self.warning_label.setWordWrap(True)
        self.warning_label.setFont(_font(14, True))
        self.warning_label.setStyleSheet("background: #7f1d1d; color: white; padding: 8px;")
        self.warning_label.hide()
        warning_row = QVBoxLayout()
        warning_row.setContentsMargins(24, 8, 24, 0)
        warning_row.addWidget(self.warning_label)
        root.addLayout(warning_row)

        # Who, where, the facts and the instructions: one area that scrolls on a small screen.
        self.info_area = _InfoArea()
        self.info_area.setObjectName("infoArea")
        self.info_area.setWidgetResizable(True)
        self.info_area.setFrameShape(QFrame.Shape.NoFrame)
        self.info_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.info_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        info = QWidget()
        info.setObjectName("info")
        info.setStyleSheet("#info { background: #fff; }")
        body = QVBoxLayout(info)
        body.setContentsMargins(24, 8, 24, 0)
        self.info_area.setWidget(info)
        root.addWidget(self.info_area, 2)  # most room to who, where and what to do
        rest = QVBoxLayout()
        rest.setContentsMargins(24, 8, 24, 0)
        root.addLayout(rest, 1)
        self.name_label = QLabel(protocol.sender_name(alarm))
        self.name_label.setFont(_font(28, True))
        self.name_label.setWordWrap(True)
        body.addWidget(self.name_label)
        sender = alarm.get("sender") or {}
        if sender.get("unit"):
            unit = QLabel(f"Organisationseinheit {sender['unit']}")
            unit.setFont(_font(14))
            unit.setWordWrap(True)
            body.addWidget(unit)

        self.location_label = QLabel("\n".join(protocol.location_lines(alarm)))
        self.location_label.setFont(_font(22, True))
        self.location_label.setWordWrap(True)
        body.addWidget(self.location_label)

        facts = []
        if alarm.get("distance_m") is not None:
            facts.append(f"Entfernung: ca. {alarm['distance_m']} m")
        phones = [f"Telefon {sender['phone']}" if sender.get("phone") else "",
                  f"Mobil {sender['mobile']}" if sender.get("mobile") else ""]
        phones = [p for p in phones if p]
        facts.append(" · ".join(phones) if phones else "keine Telefonnummer hinterlegt")
        self.late_s = press_delay(alarm)
        tier = f" · Stufe {alarm['tier']}" if alarm.get("tier") else ""
        if self.late_s is not None and self.late_s >= late_s:
            times = press_times(alarm.get("pressed_at"), alarm.get("triggered_at"))
            facts.append(f"VERSPÄTET: {times}{tier}")
        elif alarm.get("pressed_at"):
            facts.append(f"Ausgelöst um {local_time(alarm.get('pressed_at'))} Uhr{tier}")
        else:
            facts.append(f"Ausgelöst um {local_time(alarm.get('triggered_at'))} Uhr{tier}")
        self.facts_label = QLabel("\n".join(facts))
        self.facts_label.setFont(_font(16))
        # wraps: "VERSPÄTET: gedrückt um …, übermittelt um … (x s verspätet)" is wider than a
        # small window, and an unwrapped label widened the whole info area (cut off at the right)
        self.facts_label.setWordWrap(True)
        self.facts_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body.addWidget(self.facts_label)
        self.late = self.late_s is not None and self.late_s >= late_s
        if self.late:
            self.facts_label.setStyleSheet("background: #fde68a; color: #7c2d12; padding: 4px;"
                                           " font-weight: bold;")

        if alarm.get("instructions"):
            line = QFrame()
            line.setFrameShape(QFrame.Shape.HLine)
            body.addWidget(line)
            self.instructions_label = QLabel(alarm["instructions"])
            self.instructions_label.setWordWrap(True)
            self.instructions_label.setFont(_font(16, True))
            body.addWidget(self.instructions_label)
        body.addStretch(1)

        buttons = QHBoxLayout()
        coming_text = "Verstanden" if template.get("come") is False else "Ich komme"
        self.coming_button = QPushButton(f"{coming_text}\n({COMING_KEYS_TEXT})")
        self.coming_button.setObjectName("coming")
        self.cannot_button = QPushButton(f"Kann nicht\n({CANNOT_KEYS_TEXT})")
        self.cannot_button.setObjectName("cannot")
        self.mute_button = QPushButton("Ton aus")
        self.mute_button.setStyleSheet("font-size: 12pt; padding: 8px;")
        for button in (self.coming_button, self.cannot_button, self.mute_button):
            # never the keyboard focus: a space/Return typed into this window answers nothing
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setAutoDefault(False)
            button.setDefault(False)
        self.coming_shortcut = QShortcut(QKeySequence(COMING_KEYS), self)
        self.coming_shortcut.activated.connect(lambda: self._respond("coming"))
        self.cannot_shortcut = QShortcut(QKeySequence(CANNOT_KEYS), self)
        self.cannot_shortcut.activated.connect(lambda: self._respond("cannot"))
        buttons.addWidget(self.coming_button, 2)
        buttons.addWidget(self.cannot_button, 1)
        buttons.addWidget(self.mute_button, 0)
        rest.addLayout(buttons)
        self.coming_button.clicked.connect(lambda: self._respond("coming"))
        self.cannot_button.clicked.connect(lambda: self._respond("cannot"))
        self.mute_button.clicked.connect(self.stop_sound)
        # Entwarnung: for those the alarm rules allow (the server checks again)
        self.resolve_button = QPushButton("Entwarnung geben")
        self.resolve_button.setStyleSheet("font-size: 12pt; padding: 8px;")
        self.resolve_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.resolve_button.setAutoDefault(False)
        self.resolve_button.clicked.connect(self._confirm_resolve)
        self.resolve_button.setVisible(can_resolve)
        buttons.addWidget(self.resolve_button, 0)

        self.status_label = QLabel("")
        self.status_label.setFont(_font(13))
        self.status_label.setWordWrap(True)  # a refusal's reason is read in full
        rest.addWidget(self.status_label)

        lists = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        coming_title = QLabel("Es kommen:")
        coming_title.setFont(_font(14, True))
        self.responders_list = _ShortList()
        self.responders_list.setFont(_font(13))
        left.addWidget(coming_title)
        left.addWidget(self.responders_list)
        thread_title = QLabel("Nachrichten:")
        thread_title.setFont(_font(14, True))
        self.thread_list = _ShortList()
        self.thread_list.setFont(_font(13))
        right.addWidget(thread_title)
        right.addWidget(self.thread_list)
        lists.addLayout(left, 1)
        lists.addLayout(right, 2)
        for widget in (self.responders_list, self.thread_list):
            widget.setMinimumHeight(48)  # about two lines; more scroll
        rest.addLayout(lists, 1)

        send_row = QHBoxLayout()
        self.message_edit = QLineEdit()
        self.message_edit.setPlaceholderText("Nachricht an alle Beteiligten …")
        self.message_edit.setFont(_font(14))
        self.message_edit.setMaxLength(1000)
        self.message_edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # only when clicked
        self.message_shortcut = QShortcut(QKeySequence(MESSAGE_KEYS), self)
        self.message_shortcut.activated.connect(self.message_edit.setFocus)
        self.send_button = QPushButton("Senden")
        self.send_button.setStyleSheet("font-size: 14pt; padding: 8px 16px;")
        self.send_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        send_row.addWidget(self.message_edit, 1)
        send_row.addWidget(self.send_button)
        rest.addLayout(send_row)
        self.send_button.clicked.connect(self._send_message)
        self.message_edit.returnPressed.connect(self._send_message)

        self.set_responders(alarm.get("responders") or [])
        # the window itself holds the focus when activated: keys typed into it do nothing
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        for label in (self.name_label, self.location_label, self.facts_label,
                      self.warning_label, getattr(self, "instructions_label", None)):
            if label is not None:  # never squeezed: who and where must be readable
                # the label's own policy, changed only vertically: a new QSizePolicy would drop
                # its height-for-width flag, and a wrapped label then got the height of one
                # line less than it needs (lines drawn over each other)
                policy = label.sizePolicy()
                policy.setHorizontalPolicy(QSizePolicy.Policy.Preferred)
                policy.setVerticalPolicy(QSizePolicy.Policy.Minimum)
                label.setSizePolicy(policy)
        self._fitted_to: QRect | None = None
        self.fit_to_screen()

    # -- size -------------------------------------------------------------------------------
    def fit_to_screen(self, available: QRect | None = None) -> QRect:
        """Size and place the window inside ``available`` (default: the available geometry of
        the window's screen): at most the preferred size, never taller or wider than the
        screen less the window frame; the info area and the lists scroll instead. Returns the
        geometry used."""
        if available is None:
            screen = self.screen() or QGuiApplication.primaryScreen()
            available = screen.availableGeometry()
        frame = self.frameGeometry().size() - self.geometry().size()
        frame = QSize(max(frame.width(), FRAME_ALLOWANCE.width()),
                      max(frame.height(), FRAME_ALLOWANCE.height()))
        max_w = max(320, available.width() - frame.width())
        max_h = max(240, available.height() - frame.height())
        self.setMaximumSize(max_w, max_h)
        width = min(max(PREFERRED.width(), self.minimumSizeHint().width()), max_w)
        height = min(max(PREFERRED.height(), self.sizeHint().height()), max_h)
        self.resize(width, height)
        x = available.x() + max(0, (available.width() - width - frame.width()) // 2)
        y = available.y() + max(0, (available.height() - height - frame.height()) // 2)
        self.move(x, y)
        self._fitted_to = QRect(available)
        return QRect(x, y, width, height)

    def showEvent(self, event) -> None:
        # shown on another screen than the one it was fitted to (two monitors): fit again
        screen = self.screen()
        if screen is not None and screen.availableGeometry() != self._fitted_to:
            self.fit_to_screen(screen.availableGeometry())
        super().showEvent(event)

    # -- behaviour --------------------------------------------------------------------------
    def start_sound(self) -> None:
        if self.sound is not None:
            self.sound.start()

    def stop_sound(self) -> None:
        if self.sound is not None:
            self.sound.stop()

    def set_warnings(self, warnings: list[str]) -> None:
        """Warnings of this PC that stay visible while true (e.g. no sound)."""
        self.warning_label.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warning_label.setVisible(bool(warnings))
        if self.height() < min(self.sizeHint().height(), self.maximumHeight()):
            # grows for the warning where the screen has room, never beyond it (fitted again
            # to the same screen area): otherwise the info area gives up the room and scrolls
            self.fit_to_screen(self._fitted_to)

    def _confirm_resolve(self) -> None:
        from .dialogs import ask_yes_no

        if ask_yes_no(self, "Entwarnung", "Entwarnung geben? Der Alarm endet für alle "
                                          "Beteiligten."):
            self.resolve_requested.emit(self.alarm_id)

    def answered_elsewhere(self, response: str) -> None:
        """The same person answered on another device: silence this one at once."""
        self.my_response = response
        self.stop_sound()
        self.status_label.setText("Sie haben auf einem anderen Gerät geantwortet: "
                                  + response_text(response) + ".")
        if response == "coming":
            self.resolve_button.setVisible(True)

    def _respond(self, response: str) -> None:
        self.my_response = response
        self.stop_sound()  # answering acknowledges the alarm (it sounds again if refused)
        self.status_label.setText("Ihre Antwort wird gesendet …")
        log.info("alarm %s: answer %s sent", self.alarm_id, response)
        self.respond_requested.emit(self.alarm_id, response)

    def response_done(self, ok: bool, detail: str = "") -> None:
        if ok and self.my_response == "coming":
            self.resolve_button.setVisible(True)  # a helper who comes may call it off
        if ok:
            log.info("alarm %s: answer %s delivered", self.alarm_id, self.my_response)
            self.status_label.setText("Ihre Antwort: " + response_text(self.my_response)
                                      + " – die meldende Person sieht sie.")
            return
        # Not delivered (refused, e.g. a PC paired as a device, or no network): nobody knows
        # of this answer, so the alarm is not acknowledged - it sounds again and says why.
        log.warning("alarm %s: answer %s NOT delivered: %s", self.alarm_id, self.my_response,
                    detail)
        self.my_response = ""
        self.start_sound()
        self.status_label.setText(f"Antwort NICHT gesendet: {detail} – der Alarm ist weiter "
                                  "offen. Antworten Sie bitte per Telefon oder am eigenen PC.")

    def _send_message(self) -> None:
        text = self.message_edit.text().strip()
        if text:
            self.message_requested.emit(self.alarm_id, text)
            self.message_edit.clear()

    def set_responders(self, responders: list[dict]) -> None:
        self.responders_list.clear()
        for r in responders if isinstance(responders, list) else []:
            if not isinstance(r, dict):
                continue
            name, answer = r.get("name", "?"), response_text(r.get("response", ""))
            self.responders_list.addItem(f"{name} – {answer}")

    def add_message(self, frame: dict) -> None:
        sender = (frame.get("from") or {}).get("name", "?")
        at, text = local_time(frame.get("at")), frame.get("text", "")
        self.thread_list.addItem(f"{at} {sender}: {text}")

    def apply_update(self, frame: dict, alarm: dict) -> None:
        if alarm.get("responders") is not None:
            self.set_responders(alarm["responders"])
        if frame.get("kind") == "escalated":
            self.status_label.setText(f"Alarm erweitert (Stufe {frame.get('tier')})")

    def close_for_good(self) -> None:
        """Close the window whatever its state (the alarm ended, the client quits)."""
        self._may_close = True
        self.close()

    def closeEvent(self, event) -> None:
        # An unanswered alarm is not closed with the window's X (or Alt+F4): that muted it,
        # answered nothing and left no way back to it (found by the issue 21 review). It
        # closes with an answer or when the alarm ends.
        if not getattr(self, "_may_close", False) and not self.my_response:
            event.ignore()
            log.info("alarm %s: close refused, not answered yet", self.alarm_id)
            self.status_label.setText("Bitte zuerst antworten: „Ich komme“ oder „Kann nicht“. "
                                      "Das Fenster schließt sich mit der Entwarnung.")
            return
        self.stop_sound()
        super().closeEvent(event)
