"""Renders the tray menu and the receive window to PNG files (for the docs).

    xvfb-run -s "-screen 0 1280x900x24" python clients/desktop/tools/screenshots.py docs/screenshots

The alarm shown is a frame as the demo server sends it (fictitious demo people).
"""

from __future__ import annotations

import sys
from pathlib import Path

from beistand_desktop.gui import icons
from beistand_desktop.gui.receive_window import ReceiveWindow
from PySide6.QtCore import QPoint, QTimer
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
    menu.addSeparator()
    status = menu.addAction("Verbunden mit https://beistand.musterstadt.example")
    status.setEnabled(False)
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


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    target.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv)
    tray_menu_image(target / "desktop-tray-menu.png")
    window = ReceiveWindow(ALARM)
    window.add_message({"from": {"name": "Deniz Arslan"}, "text": "Bin unterwegs, 1 Minute",
                        "at": "2026-11-29T21:02:20+00:00"})
    window.response_done(True)
    window.my_response = "coming"
    window.status_label.setText("Ihre Antwort: kommt – die meldende Person sieht sie.")
    window.show()

    def shoot():
        window.grab().save(str(target / "desktop-receive-window.png"))
        window.close()
        window.deleteLater()
        app.quit()
    QTimer.singleShot(500, shoot)
    app.exec()
    print(f"written to {target}")


if __name__ == "__main__":
    main()
