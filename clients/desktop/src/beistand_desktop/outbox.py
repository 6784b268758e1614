"""Alarms pressed but not yet confirmed by the server, durably on disk.

One JSON file per press in the outbox directory, written atomically with fsync before anything
is sent. The file keeps the ``client_id`` (the idempotency key the server deduplicates on), so a
retry after a crash, a network loss or a second process (the tray and a desktop-icon launch
share the directory) can never raise a second alarm. The file is removed only once the server
answered 200/201; the answer is kept in ``sent/`` for the status view.
"""

from __future__ import annotations

import contextlib
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
        # Presses that could not be written (disk or quota full, the directory gone): kept in
        # memory and sent all the same - a press is never lost because the disk refused it
        # (only a crash before it went out would lose it). ``write_error`` says why.
        self.memory: dict[str, PendingAlarm] = {}
        self.sent_memory: dict[str, PendingAlarm] = {}   # their answers, for get()
        self.write_error = ""

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
        try:
            self._write(self._path(item.client_id), item)
            self.write_error = ""
        except OSError as exc:
            self.write_error = f"{type(exc).__name__}: {exc}"
            self.memory[item.client_id] = item
        return item

    def update(self, item: PendingAlarm) -> None:
        if item.client_id in self.memory:
            self.memory[item.client_id] = item
        elif self._path(item.client_id).exists():
            # the attempts and the last error, for the status view: a press whose file cannot
            # be rewritten (disk full) is still sent from the file as it is
            with contextlib.suppress(OSError):
                self._write(self._path(item.client_id), item)

    def pending(self) -> list[PendingAlarm]:
        items = []
        for path in self.directory.glob("*.json"):
            try:
                items.append(PendingAlarm(**json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError):
                continue  # half-written by another process, or removed meanwhile
        items += self.memory.values()
        return sorted(items, key=lambda i: i.created_at)

    def get(self, client_id: str) -> PendingAlarm | None:
        if client_id in self.memory or client_id in self.sent_memory:
            return self.memory.get(client_id) or self.sent_memory[client_id]
        # The sender moves a file from pending to sent/ while this looks: a file that is gone
        # between the look and the read is looked for again where it went.
        for _attempt in range(3):
            for path in (self._path(client_id), self._path(client_id, sent=True),
                         self.directory / "failed" / f"{client_id}.json"):
                try:
                    return PendingAlarm(**json.loads(path.read_text(encoding="utf-8")))
                except FileNotFoundError:
                    continue
            if client_id in self.memory or client_id in self.sent_memory:
                return self.memory.get(client_id) or self.sent_memory[client_id]
        return None

    def mark_sent(self, item: PendingAlarm) -> None:
        self._done(item, self._path(item.client_id, sent=True))

    def mark_failed(self, item: PendingAlarm) -> None:
        """Refused by the server for good: kept in ``failed/`` for the log, not retried."""
        self._done(item, self.directory / "failed" / f"{item.client_id}.json")

    def _done(self, item: PendingAlarm, record: Path) -> None:
        if self.memory.pop(item.client_id, None) is not None:
            self.sent_memory[item.client_id] = item
        with contextlib.suppress(OSError):  # the record is for the status view only
            record.parent.mkdir(parents=True, exist_ok=True)
            self._write(record, item)
        self.remove(item.client_id)

    def remove(self, client_id: str) -> None:
        self.memory.pop(client_id, None)
        with contextlib.suppress(OSError):  # the directory gone or unusable: nothing to remove
            self._path(client_id).unlink(missing_ok=True)
