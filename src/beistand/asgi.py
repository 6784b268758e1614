"""ASGI entry point: HTTP through Django, WebSocket through Channels, in one process.

The alarm WebSocket (``/ws/v1/alarms``) is a plain ASGI application of its own (see
``beistand.alarms.socket``). The live alarm process — hub and engine (escalations, heartbeats,
fan-out) — starts with the ASGI lifespan, or with the first request when the server runs
without one (``beistand.alarms.server``, which also fills the domain's runtime bridge). Beside
it, the scheduler's server jobs (lone-worker visit timers) start in a thread of their own
(``beistand.ops.scheduler.start_server_lane``).
"""

import asyncio
import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beistand.settings")
# Django must be set up before anything that imports models (the WebSocket routes) is loaded.
django_asgi_app = get_asgi_application()

from beistand.accounts.tokens import install_log_redaction  # noqa: E402
from beistand.accounts.ws_auth import TokenOrSessionAuthMiddleware  # noqa: E402
from beistand.alarms import fastpath, server  # noqa: E402
from beistand.alarms.socket import alarm_socket  # noqa: E402
from beistand.core.routing import websocket_urlpatterns  # noqa: E402
from beistand.core.ws_origin import BrowserOriginValidator  # noqa: E402
from beistand.ops import scheduler  # noqa: E402

ALARM_SOCKET_PATH = "/ws/v1/alarms"


def _warn_about_audit_anchor() -> None:
    """Start-up: say where the audit chain's anchor is within the service user's reach
    (BEISTAND_AUDIT_ANCHOR_STRICT refuses to start instead, in the settings)."""
    import logging

    from django.conf import settings

    from beistand.audit.checkpoint import anchor_problems

    if settings.DEMO_MODE:
        return
    for problem in anchor_problems():
        logging.getLogger("beistand.audit").warning("Audit-Anker: %s (docs/audit.md)", problem)


_warn_about_audit_anchor()

channels_websocket = TokenOrSessionAuthMiddleware(URLRouter(websocket_urlpatterns))


async def _websocket(scope, receive, send):
    if scope["path"].rstrip("/") == ALARM_SOCKET_PATH:
        return await alarm_socket(scope, receive, send)
    return await channels_websocket(scope, receive, send)


def _start() -> None:
    server.ensure_started()
    scheduler.start_server_lane()


async def _http(scope, receive, send):
    _start()
    if fastpath.handles(scope):
        return await fastpath.handle(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


async def _lifespan(scope, receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            # uvicorn configured its loggers after this module was imported: their handlers
            # get the secret-scrubbing filter now (access lines carry paths with tokens).
            install_log_redaction()
            _start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await server.stop()
            await asyncio.to_thread(scheduler.stop_server_lane)
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter({
    "http": _http,
    "websocket": BrowserOriginValidator(_websocket),
    "lifespan": _lifespan,
})
