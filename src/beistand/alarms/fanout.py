"""Fan-out: how stored events reach the server processes that hold the receivers' connections.

The events are already durable when this runs (the store wrote them in the transaction), so
fan-out only makes delivery fast; it never decides whether an event arrives. Backends:

- ``inprocess``: the process that stored the events pushes them to its own connections. Other
  processes (a CLI command, the worker) are covered by every server's sweep of recent inboxes.
- ``postgres``: ``pg_notify`` inside the storing transaction (PostgreSQL delivers it at commit,
  and only if it commits), with the range of event ids; each server reads the events of its
  connected receivers from that range.
- ``redis``: the same message ``PUBLISH``-ed after commit.
"""

import logging

from django.conf import settings
from django.db import connection

from beistand.alarms import runtime
from beistand.alarms.presence import PROCESS_ID

logger = logging.getLogger("beistand.alarms")

CHANNEL = "beistand_alarm_events"


def backend() -> str:
    choice = settings.ALARM_FANOUT
    if choice == "auto":
        return "postgres" if connection.vendor == "postgresql" else "inprocess"
    if choice not in ("inprocess", "postgres", "redis"):
        raise ValueError(f"BEISTAND_ALARM_FANOUT: unknown backend {choice!r}")
    return choice


def message(stored, low: int, high: int) -> str:
    inboxes = sorted({s.inbox_id for s in stored})
    # Receivers are listed when few (most alarms), so other processes skip foreign batches
    # without a query; an Amok batch only names its range.
    listed = ",".join(map(str, inboxes)) if len(inboxes) <= 200 else ""
    return f"{PROCESS_ID}:{low}:{high}:{listed}"


def parse(text: str):
    """(process id, first pk, last pk, inbox ids or None)."""
    process, first, last, listed = text.split(":", 3)
    inboxes = {int(i) for i in listed.split(",")} if listed else None
    return process, int(first), int(last), inboxes


def publish_in_transaction(stored, low: int, high: int) -> None:
    if stored and backend() == "postgres":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, message(stored, low, high)])


def publish_after_commit(stored, low: int, high: int) -> None:
    runtime.push_after_commit(stored)
    if backend() == "redis":
        try:
            _redis().publish(CHANNEL, message(stored, low, high))
        except Exception:  # the sweep still delivers; a Redis outage must not fail a trigger
            logger.exception("Alarm-Fan-out über Redis fehlgeschlagen; Abgleich übernimmt")


_client = None


def _redis():
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client
