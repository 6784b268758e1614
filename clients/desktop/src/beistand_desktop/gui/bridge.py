"""Hands the core's callbacks (on its own thread) over to the Qt thread as queued signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..client import Listener


class CoreBridge(QObject):
    status = Signal(str, str)
    alarm = Signal(dict)
    update = Signal(dict, dict)
    message = Signal(dict)
    sent = Signal(object)
    hotkey = Signal()
    coverage = Signal(dict)

    def listener(self) -> Listener:
        return Listener(
            on_status=lambda s, d: self.status.emit(str(s), d),
            on_alarm=lambda f: self.alarm.emit(dict(f)),
            on_update=lambda f, a: self.update.emit(dict(f), dict(a)),
            on_message=lambda f: self.message.emit(dict(f)),
            on_send=self.sent.emit,
            on_coverage=lambda c: self.coverage.emit(dict(c)),
        )
