"""The one narrow bridge from the alarm domain to the live server process.

Domain code (trigger, dispatch, presence, fan-out) needs five things from the process it runs
in: is a live server running here, deliver this stored alarm soon, look at a deadline on time,
which inboxes have a connection here, and push committed events to them. It asks this module,
never the hub or the engine (the convention of Zulip's ``send_event``: the domain hands events
to one function and does not know the machinery behind it).

The server fills the bridge at start-up (``server.ensure_started`` registers the live process)
and empties it at shutdown. With nothing registered — management commands, the worker, tests
without a server — every function behaves as "no live server here": nothing runs, nobody is
connected, pushes are dropped (the events are stored; a server's sweep delivers them), and
``trigger`` delivers within its own transaction.

This module imports no other alarms module: it sits at the bottom, next to ``lifecycle``.
"""

import time
from datetime import datetime
from typing import Protocol


class Live(Protocol):
    """What a live server process offers the domain (implemented in ``server.py``)."""

    def running(self) -> bool: ...

    def dispatch_soon(self, alarm_id: int) -> None: ...

    def wake_at(self, when: datetime) -> None: ...

    def connected_inboxes(self) -> set[int]: ...

    def push_after_commit(self, stored: list) -> None: ...

    def close_revoked(self, refs: set[tuple[str, int]]) -> None: ...


_live: Live | None = None
_registered_at: float | None = None  # time.monotonic() when this process's server started


def register(live: Live) -> None:
    global _live, _registered_at
    _live = live
    _registered_at = time.monotonic()


def reconnecting(grace_s: float) -> bool:
    """True while this server process started less than ``grace_s`` seconds ago: its clients
    are still reconnecting (with backoff), so "nobody online" says little yet."""
    started = _registered_at
    return running() and started is not None and time.monotonic() - started < grace_s


def unregister(live: Live) -> None:
    global _live
    if _live is live:
        _live = None


def running() -> bool:
    """True in a server process whose engine runs (it then delivers new alarms after commit)."""
    live = _live
    return live is not None and live.running()


def dispatch_soon(alarm_id: int) -> None:
    """A stored alarm waits for delivery: the live engine does it now (or, if this process dies
    first, any server's engine finds its due deadline)."""
    live = _live
    if live is not None:
        live.dispatch_soon(alarm_id)


def wake_at(when: datetime) -> None:
    """An escalation deadline was stored; make the live engine look at it on time."""
    live = _live
    if live is not None:
        live.wake_at(when)


def connected_inboxes() -> set[int]:
    """Inboxes with a live connection in this process (empty without a server)."""
    live = _live
    return live.connected_inboxes() if live is not None else set()


def push_after_commit(stored: list) -> None:
    """Committed events (``store.Stored``) to this process's live connections; called after
    commit from any thread."""
    live = _live
    if live is not None:
        live.push_after_commit(stored)


def close_revoked(refs: set[tuple[str, int]]) -> None:
    """Revoked tokens (``("user", api token id)`` / ``("device", device token id)``): their live
    connections in this process are closed at once (4401); other processes find them at their
    next token check (``engine.TOKEN_CHECK_SECONDS``)."""
    live = _live
    if live is not None and refs:
        live.close_revoked(set(refs))
