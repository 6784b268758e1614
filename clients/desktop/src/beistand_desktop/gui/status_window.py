"""The always-on-top status window, for desktops without a system tray (stock GNOME).

Without it the client would run with no icon and no warning. It is small, stays on top, never
takes the keyboard, and shows the state icon, the status line, every warning that is true, and
a button to raise the alarm."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from . import icons


class StatusWindow(QWidget):
    alarm_requested = Signal()
    menu_requested = Signal()

    def __init__(self):
        super().__init__(None, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint
                         | Qt.WindowType.WindowDoesNotAcceptFocus)
        self.setWindowTitle("beistand – Stiller Alarm")
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setObjectName("statusWindow")
        self.icon_label = QLabel()
        self.state_label = QLabel()
        font = QFont()
        font.setBold(True)
        self.state_label.setFont(font)
        self.state_label.setWordWrap(True)
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet("background: #7f1d1d; color: white; padding: 4px;")
        self.warning_label.hide()
        self.alarm_button = QPushButton("Stillen Alarm auslösen")
        self.menu_button = QPushButton("Menü")
        for button in (self.alarm_button, self.menu_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.alarm_button.clicked.connect(self.alarm_requested)
        self.menu_button.clicked.connect(self.menu_requested)
        top = QHBoxLayout()
        top.addWidget(self.icon_label)
        top.addWidget(self.state_label, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.warning_label)
        row = QHBoxLayout()
        row.addWidget(self.alarm_button)
        row.addWidget(self.menu_button)
        layout.addLayout(row)
        self.setFixedWidth(320)

    def show_state(self, state: str, status: str, warnings: list[str]) -> None:
        self.icon_label.setPixmap(icons.make_pixmap(state, 32))
        headline = {icons.CONNECTED: "bereit", icons.DISCONNECTED: "keine Verbindung",
                    icons.PENDING: "Alarm noch nicht übermittelt!",
                    icons.ALARM: "Alarm aktiv"}[state]
        self.state_label.setText(f"beistand – {headline}\n{status}")
        self.warning_label.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warning_label.setVisible(bool(warnings))
        # the height the wrapped lines need at the fixed width (adjustSize() gave the warning
        # one line too few: "… Bei Gefahr: Telefon 110." was cut off)
        self.layout().activate()
        self.setFixedHeight(self.layout().totalHeightForWidth(self.width()))
