"""Alarms pressed but not yet confirmed by the server, durably on disk.

One JSON file per press in the outbox directory, written atomically with fsync before anything
is sent. The file keeps the ``client_id`` (the idempotency key the server deduplicates on), so a
retry after a crash, a network loss or a second process (the tray and a desktop-icon launch
share the directory) can never raise a second alarm. The file is removed only once the server
answered 200/201; the answer is kept in ``sent/`` for the status view.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class PendingAlarm:
    client_id: str
    template: str = "beistand"
    source: str = "desktop"
    created_at: str = field(default_factory=now_iso)
    countdown_s: int | None = None
    attempts: int = 0
    last_error: str = ""
    sent_at: str = ""
    alarm_id: int | None = None
    delayed: bool = False           # went out only after at least one failed attempt
    response: dict = field(default_factory=dict)

    @classmethod
    def new(cls, template: str = "beistand", source: str = "desktop",
            countdown_s: int | None = None) -> PendingAlarm:
        return cls(client_id=f"bd-{uuid.uuid4().hex}", template=template, source=source,
                   countdown_s=countdown_s)


class Outbox:
    def __init__(self, directory: Path):
        self.directory = directory
        self.sent_dir = directory / "sent"
        self.sent_dir.mkdir(parents=True, exist_ok=True)

    def _path(self, client_id: str, sent: bool = False) -> Path:
        return (self.sent_dir if sent else self.directory) / f"{client_id}.json"

    def _write(self, path: Path, item: PendingAlarm) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(asdict(item), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        try:
            dir_fd = os.open(path.parent, os.O_RDONLY)
        except OSError:  # Windows cannot open directories
            return
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def put(self, item: PendingAlarm) -> PendingAlarm:
        self._write(self._path(item.client_id), item)
        return item

    def update(self, item: PendingAlarm) -> None:
        if self._path(item.client_id).exists():
            self._write(self._path(item.client_id), item)

    def pending(self) -> list[PendingAlarm]:
        items = []
        for path in self.directory.glob("*.json"):
            try:
                items.append(PendingAlarm(**json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError):
                continue  # half-written by another process, or removed meanwhile
        return sorted(items, key=lambda i: i.created_at)

    def get(self, client_id: str) -> PendingAlarm | None:
        for path in (self._path(client_id), self._path(client_id, sent=True),
                     self.directory / "failed" / f"{client_id}.json"):
            if path.exists():
                return PendingAlarm(**json.loads(path.read_text(encoding="utf-8")))
        return None

    def mark_sent(self, item: PendingAlarm) -> None:
        self._write(self._path(item.client_id, sent=True), item)
        self._path(item.client_id).unlink(missing_ok=True)

    def mark_failed(self, item: PendingAlarm) -> None:
        """Refused by the server for good: kept in ``failed/`` for the log, not retried."""
        failed = self.directory / "failed"
        failed.mkdir(exist_ok=True)
        self._write(failed / f"{item.client_id}.json", item)
        self._path(item.client_id).unlink(missing_ok=True)

    def remove(self, client_id: str) -> None:
        self._path(client_id).unlink(missing_ok=True)
