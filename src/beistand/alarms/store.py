"""The durable half of delivery: inboxes and their numbered events.

``append`` runs inside the caller's transaction. It locks the receivers' inbox rows in id order
(no deadlocks between concurrent alarms), moves each ``last_seq`` on and stores the events. As
the lock is held until commit, per receiver the numbers commit in order and without gaps, so a
client can safely drop every event numbered at or below the last one it processed. After commit
the events are handed to the fan-out, which pushes them to live connections.
"""

import json
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from beistand.alarms import fanout
from beistand.alarms.models import Inbox, InboxEvent, new_epoch

CHUNK = 500


@dataclass(frozen=True)
class Stored:
    """An event as stored: enough to send it without reading it back (``pk`` is 0 for events
    just appended; only events read from the table carry theirs)."""

    pk: int
    inbox_id: int
    seq: int
    payload: str

    def frame(self) -> str:
        return frame(self.seq, self.payload)


def frame(seq: int, payload: str) -> str:
    # The payload is stored without event_id; splice it in instead of re-serialising.
    return f'{{"event_id": {seq}, {payload[1:]}' if payload != "{}" else f'{{"event_id": {seq}}}'


def inbox_for_user(user) -> Inbox:
    inbox = Inbox.objects.filter(user=user).first()
    if inbox is None:
        with transaction.atomic():
            inbox, _ = Inbox.objects.get_or_create(user=user)
    return inbox


def inbox_for_device(device) -> Inbox:
    """A device bound to a person shares that person's inbox; a room-only device has its own."""
    if device.user_id:
        return inbox_for_user(device.user)
    inbox = Inbox.objects.filter(device=device).first()
    if inbox is None:
        with transaction.atomic():
            inbox, _ = Inbox.objects.get_or_create(device=device)
    return inbox


def inboxes_for_users(user_ids) -> dict[int, int]:
    """user id -> inbox id, creating missing inboxes (bulk)."""
    user_ids = set(user_ids)
    found = dict(Inbox.objects.filter(user_id__in=user_ids).values_list("user_id", "id"))
    missing = user_ids - found.keys()
    if missing:
        Inbox.objects.bulk_create([Inbox(user_id=uid) for uid in missing],
                                  ignore_conflicts=True)
        found = dict(Inbox.objects.filter(user_id__in=user_ids).values_list("user_id", "id"))
    return found


def inboxes_for_devices(device_ids) -> dict[int, int]:
    device_ids = set(device_ids)
    found = dict(Inbox.objects.filter(device_id__in=device_ids).values_list("device_id", "id"))
    missing = device_ids - found.keys()
    if missing:
        Inbox.objects.bulk_create([Inbox(device_id=d) for d in missing], ignore_conflicts=True)
        found = dict(Inbox.objects.filter(device_id__in=device_ids)
                     .values_list("device_id", "id"))
    return found


def _lock_and_bump(counts: Counter) -> dict[int, int]:
    """Lock the inboxes, add ``counts[id]`` to each ``last_seq``; return id -> new last_seq."""
    ids = sorted(counts)
    now = timezone.now()
    new_last: dict[int, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            marks = ",".join(["%s"] * len(chunk))
            # Only placeholders are formatted in; the ids are parameters.
            lock = f"SELECT id, last_seq FROM alarms_inbox WHERE id IN ({marks}) ORDER BY id"  # noqa: S608
            if connection.features.has_select_for_update:
                lock += " FOR NO KEY UPDATE"
            cursor.execute(lock, chunk)
            current = dict(cursor.fetchall())
            by_step: dict[int, list[int]] = {}
            for inbox_id in chunk:
                by_step.setdefault(counts[inbox_id], []).append(inbox_id)
                new_last[inbox_id] = current[inbox_id] + counts[inbox_id]
            for step, members in by_step.items():
                cursor.execute(
                    f"UPDATE alarms_inbox SET last_seq = last_seq + %s, updated_at = %s "  # noqa: S608
                    f"WHERE id IN ({','.join(['%s'] * len(members))})",
                    [step, now, *members])
    return new_last


def insert_rows(table: str, columns: tuple[str, ...], rows: list[tuple],
                returning: bool = False) -> list[int]:
    """Multi-row INSERT (the hot path of a large alarm: the ORM's per-object cost dominated
    there). Only identifiers from this module are formatted in; values are parameters."""
    ids: list[int] = []
    if not rows:
        return ids
    per_row = "(" + ",".join(["%s"] * len(columns)) + ")"
    head = f"INSERT INTO {table} ({','.join(columns)}) VALUES "  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            sql = head + ",".join([per_row] * len(chunk))
            if returning:
                sql += " RETURNING id"
            cursor.execute(sql, [value for row in chunk for value in row])
            if returning:
                ids.extend(r[0] for r in cursor.fetchall())
    return ids


def serialise(payload) -> str:
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, ensure_ascii=False, separators=(", ", ": "))


def append(events: list[tuple[int, str, dict | str, int | None]]) -> list[Stored]:
    """Store ``(inbox_id, kind, payload, alarm_id)`` events in order; publish after commit.

    A payload may be given already serialised (a JSON object without ``event_id``)."""
    if not events:
        return []
    assert transaction.get_connection().in_atomic_block, "append() needs a transaction"
    counts = Counter(inbox_id for inbox_id, _, _, _ in events)
    last = _lock_and_bump(counts)
    next_seq = {inbox_id: last[inbox_id] - n + 1 for inbox_id, n in counts.items()}
    now = timezone.now()
    rows, texts = [], []
    for inbox_id, kind, payload, alarm_id in events:
        seq = next_seq[inbox_id]
        next_seq[inbox_id] += 1
        text = serialise(payload)
        texts.append((inbox_id, seq, text))
        rows.append((inbox_id, seq, kind, alarm_id, text, now))
    pks = insert_rows("alarms_inboxevent",
                      ("inbox_id", "seq", "kind", "alarm_id", "payload", "created_at"), rows,
                      returning=True)
    # Other processes read the batch back by its id range (RETURNING promises no order).
    low, high = min(pks), max(pks)
    stored = [Stored(0, inbox_id, seq, text) for inbox_id, seq, text in texts]
    fanout.publish_in_transaction(stored, low, high)
    transaction.on_commit(lambda: fanout.publish_after_commit(stored, low, high))
    return stored


def events_after(inbox_id: int, after_seq: int, limit: int = 1000) -> list[Stored]:
    since = timezone.now() - _retention()
    rows = (InboxEvent.objects.filter(inbox_id=inbox_id, seq__gt=after_seq, created_at__gte=since)
            .order_by("seq").values_list("pk", "seq", "payload")[:limit])
    return [Stored(pk, inbox_id, seq, payload) for pk, seq, payload in rows]


def events_in_range(first_pk: int, last_pk: int, inbox_ids) -> list[Stored]:
    rows = (InboxEvent.objects.filter(pk__gte=first_pk, pk__lte=last_pk, inbox_id__in=inbox_ids)
            .order_by("inbox_id", "seq").values_list("pk", "inbox_id", "seq", "payload"))
    return [Stored(*row) for row in rows]


def _retention():
    return timedelta(days=settings.ALARM_EVENT_RETENTION_DAYS)


def purge_old_events(now=None) -> int:
    now = now or timezone.now()
    deleted, _ = InboxEvent.objects.filter(created_at__lt=now - _retention()).delete()
    return deleted


def renew_epochs(inbox_ids=None) -> int:
    """Give inboxes (all, or ``inbox_ids``) a new ``epoch``: their numbering can no longer be
    trusted by clients (a restored database, a reset inbox). Clients that resume with the old
    epoch get a ``reset`` frame. Returns how many inboxes were renewed."""
    qs = Inbox.objects.all() if inbox_ids is None else Inbox.objects.filter(pk__in=inbox_ids)
    n = 0
    with transaction.atomic():
        batch = []
        for inbox in qs.only("pk").iterator(chunk_size=CHUNK):
            inbox.epoch = new_epoch()
            batch.append(inbox)
            if len(batch) >= CHUNK:
                Inbox.objects.bulk_update(batch, ["epoch"])
                n += len(batch)
                batch = []
        Inbox.objects.bulk_update(batch, ["epoch"])
        n += len(batch)
    return n
