"""Process identity and presence: which server process this is, that it is alive, and which
inboxes have a live connection in it or in another live process.

Each server process registers itself (``ServerProcess``), beats every few seconds and writes
the number of connections per inbox (``Presence``). A process whose heartbeat is older than
``PROCESS_ALIVE_SECONDS`` counts as dead, its connections too. Dispatch asks ``online_inboxes``
whether a receiver can be reached live (else SMS, if the tier says so).
"""

import os
import secrets
import socket
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from beistand.alarms import runtime
from beistand.alarms.models import Presence, ServerProcess

PROCESS_ID = f"{socket.gethostname()[:20]}-{os.getpid()}-{secrets.token_hex(3)}"

# A server process whose heartbeat is older than this counts as dead (its connections too).
PROCESS_ALIVE_SECONDS = 20


def register_process() -> None:
    now = timezone.now()
    # Processes that stopped beating are dead; their presence rows go with them (cascade).
    ServerProcess.objects.filter(beat_at__lt=now - timedelta(seconds=3 * PROCESS_ALIVE_SECONDS)
                                 ).delete()
    ServerProcess.objects.update_or_create(
        id=PROCESS_ID, defaults={"host": socket.gethostname()[:100], "pid": os.getpid(),
                                 "started_at": now, "beat_at": now})


def beat() -> None:
    if not ServerProcess.objects.filter(pk=PROCESS_ID).update(beat_at=timezone.now()):
        register_process()


def forget_process() -> None:
    ServerProcess.objects.filter(pk=PROCESS_ID).delete()


def write_presence(counts: dict[int, int]) -> None:
    """Connections per inbox of this process (0: none left)."""
    now = timezone.now()
    with transaction.atomic():
        if not ServerProcess.objects.filter(pk=PROCESS_ID).exists():
            register_process()
        gone = [i for i, n in counts.items() if n == 0]
        here = {i: n for i, n in counts.items() if n > 0}
        if gone:
            Presence.objects.filter(process_id=PROCESS_ID, inbox_id__in=gone).delete()
        existing = set(Presence.objects.filter(process_id=PROCESS_ID, inbox_id__in=here)
                       .values_list("inbox_id", flat=True))
        Presence.objects.bulk_create(
            [Presence(process_id=PROCESS_ID, inbox_id=i, connections=n, since=now)
             for i, n in here.items() if i not in existing], batch_size=500)
        for inbox_id in existing:
            Presence.objects.filter(process_id=PROCESS_ID, inbox_id=inbox_id).update(
                connections=here[inbox_id])


def online_inboxes(inbox_ids) -> set[int]:
    """Inboxes with a live connection in this process or in a process that is alive."""
    inbox_ids = set(inbox_ids)
    online = runtime.connected_inboxes() & inbox_ids
    rest = inbox_ids - online
    if rest:
        alive = timezone.now() - timedelta(seconds=PROCESS_ALIVE_SECONDS)
        online |= set(Presence.objects.filter(inbox_id__in=rest, connections__gt=0,
                                              process__beat_at__gte=alive)
                      .values_list("inbox_id", flat=True))
    return online


def online_elsewhere(inbox_ids=None) -> set[int]:
    """Inboxes with a live connection in another live process (all of them for None). This
    process's own rows are left out: its hub knows its connections now, the rows lag a batch
    behind (a client that has just gone still has one)."""
    alive = timezone.now() - timedelta(seconds=PROCESS_ALIVE_SECONDS)
    rows = (Presence.objects.exclude(process_id=PROCESS_ID)
            .filter(connections__gt=0, process__beat_at__gte=alive))
    if inbox_ids is not None:
        inbox_ids = set(inbox_ids)
        if not inbox_ids:
            return set()
        if len(inbox_ids) <= 500:
            rows = rows.filter(inbox_id__in=inbox_ids)
        else:
            return set(rows.values_list("inbox_id", flat=True)) & inbox_ids
    return set(rows.values_list("inbox_id", flat=True))


# --- seat state: what a connected client reports about its workstation (frame "seat") ------
# Kept in the cache (Redis with several processes), per inbox and connection, for as long as
# the connection lives (a day at most). The coverage view shows a seat without sound.
SEAT_TTL_SECONDS = 24 * 3600


def _seat_key(inbox_id: int) -> str:
    return f"alarms:seat:{inbox_id}"


def report_seat(inbox_id: int, connection: str, state: dict | None) -> None:
    """``state`` ({"sound": bool, "detail": str, "locked": bool}) of one connection; None when
    it is gone."""
    seats = cache.get(_seat_key(inbox_id)) or {}
    if state is None:
        if connection not in seats:
            return
        seats.pop(connection)
    else:
        seats[connection] = state
    if seats:
        cache.set(_seat_key(inbox_id), seats, SEAT_TTL_SECONDS)
    else:
        cache.delete(_seat_key(inbox_id))


def locked_seats(inbox_ids) -> set[int]:
    """Inboxes whose every reporting client says its screen is locked (nobody sees a window
    there now; the sound may still be heard)."""
    found = cache.get_many([_seat_key(i) for i in inbox_ids])
    keys = {_seat_key(i): i for i in inbox_ids}
    return {keys[key] for key, seats in found.items()
            if seats and all(s.get("locked") for s in seats.values())}


def seats_without_sound(inbox_ids) -> dict[int, str]:
    """Inboxes with a connected client that reported it cannot play the alarm sound, with
    the client's reason."""
    keys = {_seat_key(i): i for i in inbox_ids}
    found = cache.get_many(list(keys))
    out = {}
    for key, seats in found.items():
        silent = [s for s in seats.values() if s.get("sound") is False]
        if silent:
            out[keys[key]] = silent[0].get("detail", "")
    return out
