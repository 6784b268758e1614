"""Renders the tray menu, the receive window (also late and without sound), the countdown and
the status window with its warnings to PNG files (for the docs).

    xvfb-run -s "-screen 0 1280x900x24" python clients/desktop/tools/screenshots.py docs/screenshots

The alarm shown is a frame as the demo server sends it (fictitious demo people).
"""

from __future__ import annotations

import sys
from pathlib import Path

from beistand_desktop.gui import icons
from beistand_desktop.gui.dialogs import CountdownDialog, Notice
from beistand_desktop.gui.receive_window import ReceiveWindow
from beistand_desktop.gui.status_window import StatusWindow
from PySide6.QtCore import QPoint, QRect, QTimer
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QMenu

ALARM = {
    "type": "alarm", "event_id": 1, "alarm_id": 2, "role": "receiver",
    "template": {"code": "beistand", "name": "Beistand", "priority": 2, "sound": "alarm",
                 "test": False, "come": True},
    "state": "triggered", "triggered_at": "2026-11-29T21:02:02.587054+00:00", "tier": 1,
    "sender": {"first_name": "Kevin", "last_name": "Lorenz", "name": "Kevin Lorenz",
               "phone": "+49 1234 555-0171", "mobile": "+49 170 555-0171", "unit": "32/3"},
    "location": {"site": "Stadthaus", "address": "Bahnhofstraße 24, 12345 Musterstadt",
                 "building": "Haus A", "floor": "2. OG", "room": "2.05", "room_name": None,
                 "position": None, "text": ""},
    "instructions": "Eine Kollegin / ein Kollege braucht sofort Beistand am Arbeitsplatz. Bitte "
                    "ruhig und ohne Aufsehen hingehen (z. B. mit einem Vorwand: „Ich bringe die "
                    "Akte“), Situation einschätzen, bei Gefahr sofort Polizei (110) rufen. Nicht "
                    "allein eingreifen.",
    "responders": [{"name": "Deniz Arslan", "response": "coming"},
                   {"name": "Jana Becker", "response": "cannot"}],
    "distance_m": 4,
}


def tray_menu_image(out: Path) -> None:
    menu = QMenu()
    menu.addAction("Stillen Alarm auslösen")
    menu.addAction("Probealarm")
    menu.addAction("Entwarnung geben …")
    menu.addSeparator()
    status = menu.addAction("Verbunden mit https://beistand.musterstadt.example")
    status.setEnabled(False)
    menu.addAction("Tonprüfung")
    menu.addAction("Selbsttest")
    menu.addAction("Einstellungen …")
    menu.addSeparator()
    menu.addAction("Beenden")
    menu.popup(QPoint(60, 10))
    QApplication.processEvents()
    shot = menu.grab()
    # the four tray icons above the menu: bereit, keine Verbindung, nicht übermittelt, Alarm
    canvas = QPixmap(max(shot.width(), 4 * 56 + 16), shot.height() + 64)
    canvas.fill(QApplication.palette().window().color())
    painter = QPainter(canvas)
    for n, state in enumerate((icons.CONNECTED, icons.DISCONNECTED, icons.PENDING, icons.ALARM)):
        painter.drawPixmap(8 + n * 56, 8, icons.make_pixmap(state, 48))
    painter.drawPixmap(0, 64, shot)
    painter.end()
    canvas.save(str(out))
    menu.close()


NO_SOUND = ("OHNE TON: Der Alarmton kann nicht abgespielt werden (paplay meldet Fehler 1: "
            "Verbindung fehlgeschlagen: Verbindung verweigert). Alarme erscheinen nur auf dem "
            "Bildschirm.")


def grab(widget, path: Path, fit: bool = False) -> None:
    widget.show()
    if fit:
        widget.adjustSize()
    for _ in range(20):
        QApplication.processEvents()
    widget.grab().save(str(path))
    widget.close()
    widget.deleteLater()


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    target.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv)
    tray_menu_image(target / "desktop-tray-menu.png")

    window = ReceiveWindow(ALARM)
    window.add_message({"from": {"name": "Deniz Arslan"}, "text": "Bin unterwegs, 1 Minute",
                        "at": "2026-11-29T21:02:20+00:00"})
    window.my_response = "coming"
    window.response_done(True)
    grab(window, target / "desktop-receive-window.png")

    late = dict(ALARM, pressed_at="2026-11-29T21:00:40.102+00:00", responders=[])
    window = ReceiveWindow(late)
    grab(window, target / "desktop-late-press.png")

    window = ReceiveWindow(dict(ALARM, responders=[]))
    window.set_warnings([NO_SOUND])
    grab(window, target / "desktop-ohne-ton.png")

    # a 1280x720 laptop: long instructions and thread scroll, the answers stay visible
    long = dict(ALARM, instructions=" ".join([ALARM["instructions"]] * 4))
    window = ReceiveWindow(long)
    for n in range(12):
        window.add_message({"from": {"name": "Deniz Arslan"}, "text": f"Nachricht {n + 1}",
                            "at": "2026-11-29T21:02:20+00:00"})
    window.set_warnings([NO_SOUND])
    window.show()
    window.fit_to_screen(QRect(0, 0, 1280, 720))
    grab(window, target / "desktop-receive-window-1280x720.png")

    # the warning as the tray shows it next to the status window (desktop without a tray)
    status = StatusWindow()
    status.show_state(icons.CONNECTED, "Verbunden mit https://beistand.musterstadt.example",
                      [NO_SOUND])
    note = Notice(NO_SOUND, urgent=True, seconds=0)
    canvas_parts = []
    for widget in (status, note):
        widget.show()
        widget.adjustSize()
        for _ in range(20):
            QApplication.processEvents()
        canvas_parts.append(widget.grab())
        widget.close()
        widget.deleteLater()
    width = sum(p.width() for p in canvas_parts) + 24
    height = max(p.height() for p in canvas_parts) + 16
    canvas = QPixmap(width, height)
    canvas.fill(QApplication.palette().window().color())
    painter = QPainter(canvas)
    x = 8
    for part in canvas_parts:
        painter.drawPixmap(x, 8, part)
        x += part.width() + 8
    painter.end()
    canvas.save(str(target / "desktop-ohne-ton-warnung.png"))

    countdown = CountdownDialog(5)
    countdown.timer.stop()
    grab(countdown, target / "desktop-countdown.png", fit=True)
    QTimer.singleShot(0, app.quit)
    app.exec()
    print(f"written to {target}")


if __name__ == "__main__":
    main()
