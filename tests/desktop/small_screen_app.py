"""Run as a script under ``QT_QPA_PLATFORM=offscreen:configfile=…`` (a screen of a given size):
shows a receive window with long instructions, a long thread and warnings the way the tray does,
and prints what the test checks as one JSON line."""

import json
import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from beistand_desktop.gui.receive_window import ReceiveWindow

from tests.desktop.test_gui_offscreen import ALARM


def rect(r):
    return [r.x(), r.y(), r.width(), r.height()]


def global_rect(widget):
    top_left = widget.mapToGlobal(widget.rect().topLeft())
    return [top_left.x(), top_left.y(), widget.width(), widget.height()]


def main():
    app = QApplication(sys.argv)
    alarm = dict(ALARM)
    alarm["instructions"] = " ".join(
        f"{n}. Bitte sofort zum Raum kommen, die Tür offen lassen und die Lage einschätzen."
        for n in range(1, 31))
    alarm["location"] = {**ALARM["location"],
                         "text": "Hinter dem Wartebereich, zweite Tür links " * 4}
    alarm["responders"] = [{"name": f"Helfer {n}", "response": "coming"} for n in range(12)]
    if "--long" in sys.argv:
        # what an installation can have: a long name, a long template name, a late press
        alarm["sender"] = {**ALARM["sender"], "mobile": "+49 170 555-0171",
                           "name": "Dr. Maximiliane-Alexandra Freifrau von "
                                   "Hohenzollern-Sigmaringen"}
        alarm["template"] = {**ALARM["template"],
                             "name": "Beistand bei Bedrohung am Arbeitsplatz – Bürgerbüro Nord"}
        alarm["pressed_at"] = "2026-11-29T21:13:04.125+00:00"  # 59 s before it was stored
    window = ReceiveWindow(alarm)
    for n in range(40):
        window.add_message({"from": {"name": f"Kollegin {n}"}, "at": ALARM["triggered_at"],
                            "text": f"Nachricht {n}: bin unterwegs, noch zwei Minuten."})
    window.show()
    window.raise_()
    # the warnings arrive after the window is shown (a failed sound check)
    window.set_warnings(["Kein Ton: Wiedergabe fehlgeschlagen (paplay: Verbindung verweigert)",
                         "Keine Verbindung zum Server – Antworten werden nachgereicht",
                         "Bildschirm gesperrt"])
    info_area = getattr(window, "info_area", None)  # (older windows had none)

    def info_scroll_max():
        return info_area.verticalScrollBar().maximum() if info_area is not None else 0

    with_wm = "--wm" in sys.argv  # a real window manager: its frame arrives asynchronously

    def settled():
        if not (window.isVisible() and window.coming_button.height() > 0
                and (info_scroll_max() > 0 or info_area is None)):
            return False
        return not with_wm or window.frameGeometry().height() > window.geometry().height()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until shown, laid out (and framed by the WM)
        app.processEvents()
        if settled():
            break
        time.sleep(0.02)
    screen = window.screen()
    print(json.dumps({
        "screen": rect(screen.geometry()),
        "available": rect(screen.availableGeometry()),
        "frame": rect(window.frameGeometry()),
        "geometry": rect(window.geometry()),
        "size_hint_height": window.sizeHint().height(),
        "buttons": {name: {"global": global_rect(button),
                           "visible": rect(button.visibleRegion().boundingRect()),
                           "shown": button.isVisible()}
                    for name, button in (("coming", window.coming_button),
                                         ("cannot", window.cannot_button),
                                         ("send", window.send_button))},
        "name_visible": rect(window.name_label.visibleRegion().boundingRect()),
        "warning_visible": rect(window.warning_label.visibleRegion().boundingRect()),
        "warning_size": [window.warning_label.width(), window.warning_label.height()],
        "info_scroll_max": info_scroll_max(),
        # the info area never scrolls sideways: its content is not wider than what is shown
        "info_width": info_area.widget().width() if info_area is not None else 0,
        "info_viewport_width": info_area.viewport().width() if info_area is not None else 0,
        "facts_text": window.facts_label.text(),
        # not cut off at the right (the info area may scroll them out of view vertically)
        "labels_visible": {name: label.visibleRegion().boundingRect().width() == label.width()
                           or label.visibleRegion().isEmpty()
                           for name, label in (("name", window.name_label),
                                               ("facts", window.facts_label),
                                               ("location", window.location_label))},
        # wrapped labels get the height their lines need (not drawn over each other)
        "labels_tall_enough": {name: label.height() >= label.heightForWidth(label.width())
                               for name, label in (("name", window.name_label),
                                                   ("facts", window.facts_label),
                                                   ("location", window.location_label))},
        "thread_scroll_max": window.thread_list.verticalScrollBar().maximum(),
    }), flush=True)
    window.close_for_good()


if __name__ == "__main__":
    main()
