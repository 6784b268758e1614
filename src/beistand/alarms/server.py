"""The live alarm process: starts and stops the hub and the engine of a server process and fills
the runtime bridge (``runtime.py``) the domain talks to.

Called by the server entry point (``beistand.asgi``: the ASGI lifespan, or the first request
when the server runs without one). Nothing in the domain imports this module.
"""

import asyncio

from beistand.alarms import runtime
from beistand.alarms.engine import Engine
from beistand.alarms.hub import HUB, Hub


class _Live:
    """The live process as the runtime bridge sees it (``runtime.Live``)."""

    def __init__(self, hub: Hub, engine: Engine, loop: asyncio.AbstractEventLoop):
        self.hub = hub
        self.engine = engine
        self.loop = loop

    def running(self) -> bool:
        return not self.loop.is_closed()

    def dispatch_soon(self, alarm_id: int) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.engine.dispatch, alarm_id)

    def wake_at(self, when) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.engine.wake_at, when)

    def connected_inboxes(self) -> set[int]:
        return self.hub.connected_inboxes()

    def push_after_commit(self, stored) -> None:
        self.hub.push_threadsafe(stored)

    def close_revoked(self, refs) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.engine.close_revoked, refs)


_live: _Live | None = None


def ensure_started() -> None:
    """Start the hub and the engine on the running loop (once per loop)."""
    global _live
    loop = asyncio.get_running_loop()
    if _live is not None and _live.loop is loop:
        return
    engine = Engine(HUB)
    HUB.attach(loop, engine.db)
    _live = _Live(HUB, engine, loop)
    engine.start()
    runtime.register(_live)


async def stop() -> None:
    global _live
    live, _live = _live, None
    if live is None:
        return
    runtime.unregister(live)
    await live.engine.stop()
    HUB.detach()


def engine() -> Engine | None:
    """The engine of this process while it runs (health checks, the trigger fast path)."""
    live = _live
    return live.engine if live is not None and live.running() else None
