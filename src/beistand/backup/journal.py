"""The deletion journal: every deletion of register data, outside the database.

A restore of an older backup brings back whatever was deleted after that backup was taken. So
that it can be deleted again, every purge of a register person and every pruning of the look-up
log is also appended to a file outside the database (``BEISTAND_DELETION_JOURNAL``, default
``BEISTAND_DATA_DIR/deletions.log``), one JSON object per line, flushed and fsynced right after
the deleting transaction commits. The journal holds no personal data: ids, creation times (which
tell a re-used id apart), dates and the reason exactly as the audit trail has it (name parts
redacted). The register announces its deletions with signals
(``beistand.register.signals``) that this app connects to at start-up.

Lines::

    {"v": 1, "type": "register.person.purge", "at": "...", "person_id": 42,
     "created_at": "...", "merged_into": 7, "merged_into_created_at": "...", "reason": "..."}
    {"v": 1, "type": "register.lookup.prune", "at": "...", "cutoff": "...", "ids": [1, 2, ...]}
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)

PERSON_PURGE = "register.person.purge"
LOOKUP_PRUNE = "register.lookup.prune"


def journal_path() -> Path:
    return Path(settings.DELETION_JOURNAL)


def _iso(value) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def append(entry: dict, path: Path | None = None) -> None:
    """Append one line and make it durable (fsync of the file, and of the directory when the
    file is new). Lines are written under an exclusive lock, so processes do not interleave."""
    path = path or journal_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    line = json.dumps({"v": 1, "at": _iso(datetime.now(UTC)), **entry},
                      ensure_ascii=False, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if new:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _after_commit(entry_factory) -> None:
    def write():
        try:
            append(entry_factory())
        except Exception:
            # The deletion has committed; losing its journal line only matters for a later
            # restore of an older backup. Say so loudly rather than pretend the purge failed.
            log.exception("Löschjournal %s nicht geschrieben: diese Löschung würde nach einer "
                          "Wiederherstellung nicht wiederholt", journal_path())
    transaction.on_commit(write)


def person_purged(person_id: int, reason: str) -> None:
    """Called inside the purge's transaction; the line is written once it has committed."""
    from beistand.register.models import RegisterPerson

    row = (RegisterPerson.objects.filter(pk=person_id)
           .values("created_at", "merged_into_id", "merged_into__created_at").first() or {})
    entry = {"type": PERSON_PURGE, "person_id": person_id,
             "created_at": _iso(row.get("created_at")),
             "merged_into": row.get("merged_into_id"),
             "merged_into_created_at": _iso(row.get("merged_into__created_at")),
             "reason": reason}
    _after_commit(lambda: entry)


def lookups_pruned(cutoff: datetime, ids: list[int]) -> None:
    entry = {"type": LOOKUP_PRUNE, "cutoff": _iso(cutoff), "ids": list(ids)}
    _after_commit(lambda: entry)


def on_person_purged(sender, *, person_id: int, reason: str, **kwargs) -> None:
    """Receiver of ``beistand.register.signals.person_purged`` (connected in apps.py)."""
    person_purged(person_id, reason)


def on_lookups_pruned(sender, *, cutoff: datetime, ids: list[int], **kwargs) -> None:
    """Receiver of ``beistand.register.signals.lookups_pruned`` (connected in apps.py)."""
    lookups_pruned(cutoff, ids)


def read(path: Path | None = None) -> tuple[list[dict], int]:
    """All readable lines, and the number of unreadable ones (e.g. a line cut off by a crash)."""
    path = path or journal_path()
    if not path.exists():
        return [], 0
    entries, bad = [], 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(entry, dict) and entry.get("type") in (PERSON_PURGE, LOOKUP_PRUNE):
                entries.append(entry)
            else:
                bad += 1
    return entries, bad
