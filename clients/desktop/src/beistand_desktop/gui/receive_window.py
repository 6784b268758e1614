"""The receive window: top-most, large, with a repeating sound until acknowledged.

Shows who needs help, where (room/floor/building or position), the distance, phone numbers,
the time and the instructions; "Ich komme" / "Kann nicht", a message to the alarm's thread and
the list of who is coming. The all-clear (or a cancel) closes it on every client.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .. import protocol
from ..sound import AlarmSound


def local_time(iso: str | None) -> str:
    if not iso:
        return "–"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return iso


def response_text(response: str) -> str:
    return {"coming": "kommt", "cannot": "kann nicht"}.get(response, response)


def _font(size: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSize(size)
    font.setBold(bold)
    return font


class ReceiveWindow(QWidget):
    respond_requested = Signal(int, str)
    message_requested = Signal(int, str)
    resolve_requested = Signal(int)

    def __init__(self, alarm: dict, sound: AlarmSound | None = None, parent=None):
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
        root.addWidget(banner)

        body = QVBoxLayout()
        body.setContentsMargins(24, 8, 24, 0)
        root.addLayout(body)
        self.name_label = QLabel(protocol.sender_name(alarm))
        self.name_label.setFont(_font(28, True))
        body.addWidget(self.name_label)
        sender = alarm.get("sender") or {}
        if sender.get("unit"):
            unit = QLabel(f"Organisationseinheit {sender['unit']}")
            unit.setFont(_font(14))
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
        facts.append(f"Ausgelöst um {local_time(alarm.get('triggered_at'))} Uhr"
                     + (f" · Stufe {alarm['tier']}" if alarm.get("tier") else ""))
        self.facts_label = QLabel("\n".join(facts))
        self.facts_label.setFont(_font(16))
        self.facts_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body.addWidget(self.facts_label)

        if alarm.get("instructions"):
            line = QFrame()
            line.setFrameShape(QFrame.Shape.HLine)
            body.addWidget(line)
            self.instructions_label = QLabel(alarm["instructions"])
            self.instructions_label.setWordWrap(True)
            self.instructions_label.setFont(_font(16, True))
            body.addWidget(self.instructions_label)

        buttons = QHBoxLayout()
        self.coming_button = QPushButton("Ich komme")
        self.coming_button.setObjectName("coming")
        self.cannot_button = QPushButton("Kann nicht")
        self.cannot_button.setObjectName("cannot")
        self.mute_button = QPushButton("Ton aus")
        self.mute_button.setStyleSheet("font-size: 12pt; padding: 8px;")
        if template.get("come") is False:
            self.coming_button.setText("Verstanden")
        buttons.addWidget(self.coming_button, 2)
        buttons.addWidget(self.cannot_button, 1)
        buttons.addWidget(self.mute_button, 0)
        body.addLayout(buttons)
        self.coming_button.clicked.connect(lambda: self._respond("coming"))
        self.cannot_button.clicked.connect(lambda: self._respond("cannot"))
        self.mute_button.clicked.connect(self.stop_sound)

        self.status_label = QLabel("")
        self.status_label.setFont(_font(13))
        body.addWidget(self.status_label)

        lists = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        coming_title = QLabel("Es kommen:")
        coming_title.setFont(_font(14, True))
        self.responders_list = QListWidget()
        self.responders_list.setFont(_font(13))
        left.addWidget(coming_title)
        left.addWidget(self.responders_list)
        thread_title = QLabel("Nachrichten:")
        thread_title.setFont(_font(14, True))
        self.thread_list = QListWidget()
        self.thread_list.setFont(_font(13))
        right.addWidget(thread_title)
        right.addWidget(self.thread_list)
        lists.addLayout(left, 1)
        lists.addLayout(right, 2)
        body.addLayout(lists)

        send_row = QHBoxLayout()
        self.message_edit = QLineEdit()
        self.message_edit.setPlaceholderText("Nachricht an alle Beteiligten …")
        self.message_edit.setFont(_font(14))
        self.message_edit.setMaxLength(1000)
        self.send_button = QPushButton("Senden")
        self.send_button.setStyleSheet("font-size: 14pt; padding: 8px 16px;")
        send_row.addWidget(self.message_edit, 1)
        send_row.addWidget(self.send_button)
        body.addLayout(send_row)
        self.send_button.clicked.connect(self._send_message)
        self.message_edit.returnPressed.connect(self._send_message)

        self.set_responders(alarm.get("responders") or [])
        self.resize(900, 760)

    # -- behaviour --------------------------------------------------------------------------
    def start_sound(self) -> None:
        if self.sound is not None:
            self.sound.start()

    def stop_sound(self) -> None:
        if self.sound is not None:
            self.sound.stop()

    def _respond(self, response: str) -> None:
        self.my_response = response
        self.stop_sound()  # answering acknowledges the alarm
        self.status_label.setText("Ihre Antwort wird gesendet …")
        self.respond_requested.emit(self.alarm_id, response)

    def response_done(self, ok: bool, detail: str = "") -> None:
        if ok:
            self.status_label.setText("Ihre Antwort: " + response_text(self.my_response)
                                      + " – die meldende Person sieht sie.")
        else:
            self.status_label.setText(f"Antwort NICHT gesendet: {detail}")

    def _send_message(self) -> None:
        text = self.message_edit.text().strip()
        if text:
            self.message_requested.emit(self.alarm_id, text)
            self.message_edit.clear()

    def set_responders(self, responders: list[dict]) -> None:
        self.responders_list.clear()
        for r in responders:
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

    def closeEvent(self, event) -> None:
        self.stop_sound()
        super().closeEvent(event)
