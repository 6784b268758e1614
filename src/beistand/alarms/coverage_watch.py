"""The coverage indicator pushed live: a ``coverage`` frame to a connected person whenever the
answer to "Wer bekommt meinen Alarm jetzt?" changes for them (a receiver of their plan comes
online, goes offline, locks the screen or loses sound).

Cheap with ten thousand connections, because nothing is computed per presence change:

- Connected persons are grouped by the place their plan is resolved from (room and unit);
  each group reads its plan's tiers once as inbox sets (``coverage.Snapshot``, read again after
  ``SNAPSHOT_TTL_SECONDS`` or when a round finds it stale) and an index maps each receiver's
  inbox to the groups whose plan contains it.
- A presence change only marks the receiver's inbox dirty (the hub: the first connection of an
  inbox, its last one gone; the socket: a ``seat`` frame). Presence in other server processes is
  compared every ``RECONCILE_SECONDS`` (one query for all of it), and every group is looked at
  again every ``REFRESH_SECONDS`` (seat changes reported to another process, organisation and
  plan changes).
- At most once every ``FLUSH_SECONDS`` the engine flushes: the groups of the dirty inboxes are
  recomputed from one read of the online set of their receivers; each sender's level is then a
  few set counts, and a frame goes out only to connections whose level or text changed.

The domain rule is ``coverage.level`` (the same as the HTTP answer and the coverage page); this
module only decides when to apply it and to whom. It runs on the server's loop (state) and on the
engine's database threads (reads), and knows no engine: the hub owns it, the engine calls
``flush``.
"""

import json
import logging
import time

from beistand.alarms import coverage, presence

logger = logging.getLogger("beistand.alarms")

FLUSH_SECONDS = 1.0
RECONCILE_SECONDS = 5.0
REFRESH_SECONDS = 60.0
SNAPSHOT_TTL_SECONDS = 300.0


class _Group:
    __slots__ = ("built", "conns", "snapshot")

    def __init__(self):
        self.conns: set = set()
        self.snapshot: coverage.Snapshot | None = None
        self.built = 0.0


class CoverageWatch:
    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.groups: dict[tuple, _Group] = {}
        self.index: dict[int, set[tuple]] = {}     # receiver inbox -> groups whose plan has it
        self.dirty_inboxes: set[int] = set()
        self.dirty_groups: set[tuple] = set()
        self.remote: set[int] = set()              # online in other processes, last reconcile
        self.last_reconcile = 0.0
        self.last_refresh = time.monotonic()
        # What the rounds cost (tests, debugging): rounds run, snapshots read, frames sent.
        self.stats = {"rounds": 0, "snapshots": 0, "frames": 0}

    # --- marks (on the loop, cheap) ---------------------------------------------------------

    def track(self, conn, key: tuple | None) -> None:
        """A person's connection: it gets the coverage of the plan for ``key`` (room id, unit
        id) - its first frame at the next flush."""
        conn.coverage_key = key
        conn.coverage_sent = None
        if key is None:
            return
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group()
        group.conns.add(conn)
        self.dirty_groups.add(key)

    def untrack(self, conn) -> None:
        key = conn.coverage_key
        group = self.groups.get(key) if key is not None else None
        if group is None:
            return
        group.conns.discard(conn)
        if not group.conns:
            del self.groups[key]
            self._reindex(key, group.snapshot, None)

    def inbox_changed(self, inbox_id: int) -> None:
        self.dirty_inboxes.add(inbox_id)

    def _reindex(self, key, old: coverage.Snapshot | None, new: coverage.Snapshot | None):
        before = old.inboxes() if old is not None else frozenset()
        after = new.inboxes() if new is not None else frozenset()
        for inbox in before - after:
            keys = self.index.get(inbox)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.index[inbox]
        for inbox in after - before:
            self.index.setdefault(inbox, set()).add(key)

    # --- the round (the engine calls it every FLUSH_SECONDS) --------------------------------

    async def flush(self, hub, db) -> None:
        if not self.groups:
            self.dirty_inboxes.clear()
            self.dirty_groups.clear()
            return
        now = time.monotonic()
        if now - self.last_refresh >= REFRESH_SECONDS:
            self.last_refresh = now
            self.dirty_groups |= set(self.groups)
        if now - self.last_reconcile >= RECONCILE_SECONDS:
            self.last_reconcile = now
            remote = await db(presence.online_elsewhere)
            self.dirty_inboxes |= remote ^ self.remote
            self.remote = remote
        keys = self.dirty_groups
        for inbox in self.dirty_inboxes:
            keys |= self.index.get(inbox, set())
        self.dirty_groups, self.dirty_inboxes = set(), set()
        keys = {k for k in keys if k in self.groups}
        if not keys:
            return
        self.stats["rounds"] += 1
        stale = [k for k in keys if self.groups[k].snapshot is None
                 or now - self.groups[k].built > SNAPSHOT_TTL_SECONDS]
        if stale:
            built = await db(_snapshots, stale)
            self.stats["snapshots"] += len(built)
            for key, snap in built.items():
                group = self.groups.get(key)
                if group is None:
                    continue
                self._reindex(key, group.snapshot, snap)
                group.snapshot, group.built = snap, now
        ready = [(k, self.groups[k]) for k in keys
                 if k in self.groups and self.groups[k].snapshot is not None]
        watched = frozenset().union(*(g.snapshot.inboxes() for _, g in ready))
        elsewhere, silent, locked = await db(_states, watched, hub.connected_inboxes())
        online = (hub.connected_inboxes() | elsewhere) & watched
        texts: dict[tuple, str] = {}
        for _key, group in ready:
            level_of = group.snapshot.levels(online, silent, locked)
            for conn in list(group.conns):
                answer = level_of(conn.inbox_id)
                if conn.closed or answer == conn.coverage_sent:
                    continue
                conn.coverage_sent = answer
                marker = (answer["level"], answer["level_text"])
                text = texts.get(marker)
                if text is None:
                    text = texts[marker] = json.dumps(
                        {"type": "coverage", "level": answer["level"],
                         "level_text": answer["level_text"]}, ensure_ascii=False)
                conn.send_text(text)
                self.stats["frames"] += 1


def _snapshots(keys) -> dict[tuple, coverage.Snapshot]:
    out = {}
    for key in keys:
        try:
            out[key] = coverage.snapshot(*key)
        except Exception:  # one broken place must not keep the others' indicators stale
            logger.exception("Abdeckung für Raum/Einheit %s nicht ermittelt", key)
    return out


def _states(watched, local) -> tuple[set[int], set[int], set[int]]:
    """(online in other processes, without sound, screen locked) among ``watched``."""
    elsewhere = presence.online_elsewhere(watched - local) if watched - local else set()
    online = (set(local) | elsewhere) & watched
    return (elsewhere, set(presence.seats_without_sound(online)),
            presence.locked_seats(online))
