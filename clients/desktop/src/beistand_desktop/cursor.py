"""The highest processed ``event_id``, kept on disk, and de-duplication of events.

At-least-once delivery: after a reconnect or a resend the same event may come again; the
protocol guarantees ``event_id`` increases by one per stored event, so anything not higher than
the cursor is a duplicate and dropped.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


class EventCursor:
    def __init__(self, path: Path | None = None):
        self.path = path
        self._lock = threading.Lock()
        self.last_event_id = 0
        self.epoch: str | None = None   # the server's numbering this cursor belongs to
        if path is not None and self._epoch_path().exists():
            self.epoch = self._epoch_path().read_text().strip() or None
        if path is not None and path.exists():
            try:
                self.last_event_id = int(path.read_text().strip() or 0)
            except ValueError:
                self.last_event_id = 0

    def _epoch_path(self) -> Path:
        return self.path.with_name(self.path.name + ".epoch")

    def set_epoch(self, epoch: str | None) -> None:
        with self._lock:
            self.epoch = epoch or None
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._epoch_path().write_text(epoch or "")

    def reset(self, last_event_id: int, epoch: str | None = None) -> None:
        """The server's numbering changed: continue after ``last_event_id``."""
        with self._lock:
            self.last_event_id = last_event_id
            self._write(last_event_id)
        if epoch:
            self.set_epoch(epoch)

    def _write(self, event_id: int) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(str(event_id))
            os.replace(tmp, self.path)

    def is_new(self, event_id: int) -> bool:
        return event_id > self.last_event_id

    def advance(self, event_id: int) -> bool:
        """Marks ``event_id`` processed; False if it was a duplicate (nothing changes)."""
        with self._lock:
            if event_id <= self.last_event_id:
                return False
            self.last_event_id = event_id
            self._write(event_id)
            return True
