"""ASGI entry point: HTTP through Django, WebSocket through Channels, in one process.

The alarm WebSocket (``/ws/v1/alarms``) is a plain ASGI application of its own (see
``beistand.alarms.socket``). The alarm engine of this process (escalations, heartbeats, fan-out)
starts with the ASGI lifespan, or with the first request when the server runs without one.
"""

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beistand.settings")
# Django must be set up before anything that imports models (the WebSocket routes) is loaded.
django_asgi_app = get_asgi_application()

from beistand.alarms import fastpath  # noqa: E402
from beistand.alarms.hub import HUB  # noqa: E402
from beistand.alarms.socket import alarm_socket  # noqa: E402
from beistand.core.routing import websocket_urlpatterns  # noqa: E402
from beistand.core.ws_auth import (  # noqa: E402
    BrowserOriginValidator,
    TokenOrSessionAuthMiddleware,
)

ALARM_SOCKET_PATH = "/ws/v1/alarms"

channels_websocket = TokenOrSessionAuthMiddleware(URLRouter(websocket_urlpatterns))


async def _websocket(scope, receive, send):
    if scope["path"].rstrip("/") == ALARM_SOCKET_PATH:
        return await alarm_socket(scope, receive, send)
    return await channels_websocket(scope, receive, send)


async def _http(scope, receive, send):
    HUB.ensure_started()
    if fastpath.handles(scope):
        return await fastpath.handle(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


async def _lifespan(scope, receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            HUB.ensure_started()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await HUB.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter({
    "http": _http,
    "websocket": BrowserOriginValidator(_websocket),
    "lifespan": _lifespan,
})
