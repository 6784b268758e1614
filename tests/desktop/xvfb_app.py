"""A real X11 desktop for the Xvfb tests: a "word processor" the colleague types in, and, on
command, the client's receive window and countdown. Commands on stdin, one per line; answers
on stdout, one line each (JSON)."""

import json
import sys

from beistand_desktop.gui.dialogs import CountdownDialog
from beistand_desktop.gui.receive_window import ReceiveWindow
from PySide6.QtCore import QSocketNotifier
from PySide6.QtWidgets import QApplication, QTextEdit

ALARM = {"type": "alarm", "alarm_id": 42, "role": "receiver",
         "template": {"code": "beistand", "name": "Beistand", "test": False, "come": True},
         "state": "triggered", "triggered_at": "2026-11-29T21:14:03.125+00:00", "tier": 1,
         "sender": {"name": "Erika Muster", "phone": "+49 221 0000"},
         "location": {"room": "1.05", "floor": "1. Etage"}, "responders": []}


def main():
    app = QApplication(sys.argv)
    editor = QTextEdit()
    editor.setWindowTitle("Schreibprogramm")
    editor.resize(600, 400)
    editor.move(40, 40)
    editor.show()
    editor.activateWindow()
    state = {"responses": [], "messages": [], "fired": 0, "cancelled": 0}
    widgets = {}

    def say(**data):
        print(json.dumps(data), flush=True)

    def command(line):
        cmd = line.strip()
        if cmd == "alarm":
            window = ReceiveWindow(dict(ALARM))
            window.respond_requested.connect(lambda a, r: state["responses"].append(r))
            window.message_requested.connect(lambda a, t: state["messages"].append(t))
            window.show()
            window.raise_()
            widgets["window"] = window
            say(shown=True, win=int(window.winId()))
        elif cmd == "countdown":
            dialog = CountdownDialog(30)
            dialog.fire.connect(lambda: state.__setitem__("fired", state["fired"] + 1))
            dialog.cancelled.connect(
                lambda: state.__setitem__("cancelled", state["cancelled"] + 1))
            dialog.show()
            dialog.activateWindow()
            widgets["countdown"] = dialog
            say(shown=True, win=int(dialog.winId()))
        elif cmd == "report":
            active = QApplication.activeWindow()
            countdown = widgets.get("countdown")
            say(text=editor.toPlainText(), active=active.windowTitle() if active else "",
                window_visible=bool(widgets.get("window") and widgets["window"].isVisible()),
                countdown_visible=bool(countdown and countdown.isVisible()), **state)
        elif cmd == "quit":
            app.quit()

    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(lambda: command(sys.stdin.readline()))
    say(ready=True, win=int(editor.winId()))
    app.exec()


if __name__ == "__main__":
    main()
