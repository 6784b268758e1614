"""Small dialogs: the countdown before an alarm goes out, the discreet confirmation notice,
and the settings."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..config import Config
from ..hotkey import HotkeyError, to_pynput
from ..pairing import PairingError, normalise_server, parse_pairing


class CountdownDialog(QDialog):
    """ "Alarm in N s" with "Abbrechen" and "Sofort senden"; emits ``fire`` when it runs out."""

    fire = Signal()

    def __init__(self, seconds: int, parent=None):
        super().__init__(parent, Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle("Stiller Alarm")
        self.remaining = seconds
        self.label = QLabel()
        self.label.setFont(QFont("", 16))
        self.cancel_button = QPushButton("Abbrechen")
        self.now_button = QPushButton("Sofort senden")
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        row = QHBoxLayout()
        row.addWidget(self.cancel_button)
        row.addWidget(self.now_button)
        layout.addLayout(row)
        self.cancel_button.clicked.connect(self.reject)
        self.now_button.clicked.connect(self._fire)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.timer.start(1000)
        self._update()

    def _update(self) -> None:
        self.label.setText(f"Alarm wird in {self.remaining} s ausgelöst.")

    def _tick(self) -> None:
        self.remaining -= 1
        if self.remaining <= 0:
            self._fire()
        else:
            self._update()

    def _fire(self) -> None:
        self.timer.stop()
        self.fire.emit()
        self.accept()

    def reject(self) -> None:
        self.timer.stop()
        super().reject()


class Notice(QWidget):
    """A small frameless note in a screen corner that closes by itself."""

    def __init__(self, text: str, urgent: bool = False, seconds: int = 5):
        super().__init__(None, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowStaysOnTopHint)
        self.setObjectName("notice")
        colour = "#fde68a" if urgent else "#ecfdf5"
        self.setStyleSheet(f"#notice {{ background: {colour}; border: 1px solid #555; }}")
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setFont(QFont("", 12, QFont.Weight.Bold if urgent else QFont.Weight.Normal))
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        self.setFixedWidth(360)
        if seconds:
            QTimer.singleShot(seconds * 1000, self.close)


class SettingsDialog(QDialog):
    def __init__(self, config: Config, token: str = "", parent=None):
        super().__init__(parent)
        self.setWindowTitle("beistand – Einstellungen")
        self.config = config
        self.token = token
        form = QFormLayout()
        self.server_edit = QLineEdit(config.server)
        self.server_edit.setPlaceholderText("https://beistand.stadt.example")
        self.pairing_edit = QLineEdit()
        self.pairing_edit.setPlaceholderText("Kopplungs-Link (beistand://pair?…) oder Token")
        self.pairing_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.hotkey_edit = QLineEdit(config.hotkey)
        self.countdown_spin = QSpinBox()
        self.countdown_spin.setRange(0, 30)
        self.countdown_spin.setSuffix(" s")
        self.countdown_spin.setValue(config.countdown_s)
        self.confirmation_combo = QComboBox()
        for value, text in (("dialog", "kleiner Hinweis „Alarm wurde ausgelöst“"),
                            ("tooltip", "nur im Symbol-Tooltip"), ("none", "keine")):
            self.confirmation_combo.addItem(text, value)
        self.confirmation_combo.setCurrentIndex(
            max(0, self.confirmation_combo.findData(config.confirmation)))
        self.volume_slider = QSlider(Qt.Orientation.Horizontal)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(config.volume)
        self.offline_spin = QSpinBox()
        self.offline_spin.setRange(10, 3600)
        self.offline_spin.setSuffix(" s")
        self.offline_spin.setValue(config.offline_warning_s)
        form.addRow("Server", self.server_edit)
        form.addRow("Kopplung", self.pairing_edit)
        form.addRow("Tastenkürzel", self.hotkey_edit)
        form.addRow("Countdown vor dem Auslösen", self.countdown_spin)
        form.addRow("Bestätigung", self.confirmation_combo)
        form.addRow("Lautstärke Alarmton", self.volume_slider)
        form.addRow("Warnung ohne Verbindung nach", self.offline_spin)
        self.error_label = QLabel("")
        self.error_label.setStyleSheet("color: #b91c1c;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText("Speichern")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Abbrechen")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    def accept(self) -> None:
        try:
            to_pynput(self.hotkey_edit.text())
            server = self.server_edit.text().strip()
            pairing_text = self.pairing_edit.text().strip()
            if pairing_text:
                pairing = parse_pairing(pairing_text, server)
                server, self.token = pairing.server, pairing.token
            elif server:
                server = normalise_server(server)
        except (HotkeyError, PairingError) as exc:
            self.error_label.setText(str(exc))
            return
        self.config.server = server
        self.config.hotkey = self.hotkey_edit.text().strip()
        self.config.countdown_s = self.countdown_spin.value()
        self.config.confirmation = self.confirmation_combo.currentData()
        self.config.volume = self.volume_slider.value()
        self.config.offline_warning_s = self.offline_spin.value()
        super().accept()
