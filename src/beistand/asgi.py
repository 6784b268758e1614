"""ASGI entry point: HTTP through Django, WebSocket through Channels, in one process."""

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beistand.settings")
# Django must be set up before anything that imports models (the WebSocket routes) is loaded.
django_asgi_app = get_asgi_application()

from beistand.core.routing import websocket_urlpatterns  # noqa: E402
from beistand.core.ws_auth import (  # noqa: E402
    BrowserOriginValidator,
    TokenOrSessionAuthMiddleware,
)

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": BrowserOriginValidator(
        TokenOrSessionAuthMiddleware(URLRouter(websocket_urlpatterns))),
})
