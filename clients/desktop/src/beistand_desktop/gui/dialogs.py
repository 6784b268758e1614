"""Small dialogs: the countdown before an alarm goes out, the discreet confirmation notice,
and the settings."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
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
from ..pairing import PairingError, check_token, login, normalise_server, pairing_from

CANCEL_KEYS = "Ctrl+Alt+A"
CANCEL_KEYS_TEXT = "Strg+Alt+A"


def ask_yes_no(parent, title: str, text: str) -> bool:
    """A question with German buttons „Ja“ / „Nein“ („Nein“ is the default and Escape): Qt's
    own question box said "Yes" / "No" (no German Qt translation is installed with the
    client)."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton,
                      parent)
    yes = box.addButton("Ja", QMessageBox.ButtonRole.YesRole)
    no = box.addButton("Nein", QMessageBox.ButtonRole.NoRole)
    box.setDefaultButton(no)
    box.setEscapeButton(no)
    box.exec()
    return box.clickedButton() is yes


class CountdownDialog(QDialog):
    """ "Alarm in N s" with "Sofort senden" (the default) and "Abbrechen"; emits ``fire`` when
    it runs out or on "Sofort senden", ``cancelled`` only on a deliberate cancel.

    Nothing typed by accident cancels: Return, Enter and a space on the focused default button
    send at once; Escape and closing the window are ignored (the countdown runs on); cancelling
    takes a mouse click on "Abbrechen" or the chord Strg+Alt+A shown on it."""

    fire = Signal()
    cancelled = Signal()

    def __init__(self, seconds: int, parent=None):
        super().__init__(parent, Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle("Stiller Alarm")
        self.remaining = seconds
        self.done_ = False
        self.label = QLabel()
        font = QFont()
        font.setPointSize(16)
        font.setBold(True)
        self.label.setFont(font)
        self.hint = QLabel("Eingabetaste: sofort senden. Abbrechen nur mit Klick oder "
                           f"{CANCEL_KEYS_TEXT}.")
        self.hint.setWordWrap(True)
        self.now_button = QPushButton("Sofort senden")
        self.now_button.setDefault(True)
        self.now_button.setAutoDefault(True)
        self.cancel_button = QPushButton(f"Abbrechen ({CANCEL_KEYS_TEXT})")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for button in (self.now_button, self.cancel_button):
            button.setStyleSheet("font-size: 13pt; padding: 8px 16px;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.hint)
        row = QHBoxLayout()
        row.addWidget(self.now_button, 2)
        row.addWidget(self.cancel_button, 1)
        layout.addLayout(row)
        self.cancel_button.clicked.connect(self.cancel)
        self.now_button.clicked.connect(self._fire)
        self.cancel_shortcut = QShortcut(QKeySequence(CANCEL_KEYS), self)
        self.cancel_shortcut.activated.connect(self.cancel)
        self.now_button.setFocus()
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
        if self.done_:
            return
        self.done_ = True
        self.timer.stop()
        self.fire.emit()
        self.accept()

    def cancel(self) -> None:
        """The deliberate cancel (click on "Abbrechen" or Strg+Alt+A)."""
        if self.done_:
            return
        self.done_ = True
        self.timer.stop()
        self.cancelled.emit()
        super().reject()

    def reject(self) -> None:
        """Escape (and anything else that would close the dialog as "rejected"): ignored."""

    def closeEvent(self, event) -> None:
        if not self.done_:
            event.ignore()  # the window's close button does not cancel the alarm
            return
        super().closeEvent(event)

    def stop(self) -> None:
        """Closes without firing or cancelling (the program ends)."""
        self.done_ = True
        self.timer.stop()
        super().reject()


class Notice(QWidget):
    """A small frameless note in a screen corner that closes by itself."""

    def __init__(self, text: str, urgent: bool = False, seconds: int = 5):
        super().__init__(None, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowStaysOnTopHint
                         | Qt.WindowType.WindowDoesNotAcceptFocus)
        # Shown beside whatever the person is doing: it never takes the keyboard (a review
        # found keys typed after a press landing in the confirmation, not in the program).
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setObjectName("notice")
        colour = "#fde68a" if urgent else "#ecfdf5"
        self.setStyleSheet(f"#notice {{ background: {colour}; border: 1px solid #555; }}")
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        font = QFont()
        font.setPointSize(12)
        font.setBold(urgent)
        self.label.setFont(font)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        self.setFixedWidth(360)
        self._fit()
        if seconds:
            QTimer.singleShot(seconds * 1000, self.close)

    def set_text(self, text: str) -> None:
        self.label.setText(text)
        self._fit()

    def _fit(self) -> None:
        """The height the wrapped text needs at the fixed width (else it is cut off)."""
        margins = self.layout().contentsMargins()
        inner = 360 - margins.left() - margins.right()
        self.setFixedHeight(self.label.heightForWidth(inner) + margins.top()
                            + margins.bottom())


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
        self.pairing_edit.setPlaceholderText("Kopplungs-Link, Token oder Kopplungscode "
                                             "(ABCD-EFGH-JKLM)")
        self.pairing_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.user_edit = QLineEdit()
        self.user_edit.setPlaceholderText("statt Token: Benutzername")
        self.user_edit.setMaxLength(150)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setMaxLength(256)
        self.otp_edit = QLineEdit()
        self.otp_edit.setPlaceholderText("nur wo verlangt")
        self.otp_edit.setMaxLength(12)
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
        form.addRow("Anmeldung", self.user_edit)
        form.addRow("Passwort", self.password_edit)
        form.addRow("Einmalcode", self.otp_edit)
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
            if self.user_edit.text().strip():
                # a user login instead of a token (second factor where the role needs it)
                server = normalise_server(server)
                token = login(server, self.user_edit.text().strip(), self.password_edit.text(),
                              self.otp_edit.text().strip())
                self.checked_name = asyncio.run(check_token(server, token))
                self.token = token
                self.password_edit.clear()
            elif pairing_text:
                # a link, a token, or a one-time code the server exchanges for a token
                pairing = pairing_from(pairing_text, server)
                # only a token the server accepts is taken
                self.checked_name = asyncio.run(check_token(pairing.server, pairing.token))
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
